// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "vmm/run/run_chan.h"

void run_chan_init(struct run_chan *c, run_output_fn *output, void *opaque)
{
	*c = (struct run_chan){ .output = output, .opaque = opaque };
}

static bool over(const struct run_chan *c)
{
	return c->exited || c->failed || c->broken;
}

static void chan_break(struct run_chan *c, const char *why)
{
	c->broken = true;
	c->reason_len = (size_t)snprintf(c->reason, sizeof(c->reason), "%s", why);
}

/* A complete header: check it against what each type may carry. */
static void frame_start(struct run_chan *c)
{
	uint8_t type = c->hdr[0];
	uint32_t len = c->hdr[1] | (uint32_t)c->hdr[2] << 8;

	c->left = len;
	switch (type) {
	case RUN_FRAME_HELLO:
		if (len || c->hello)
			chan_break(c, "the guest's init sent a bad hello frame");
		else
			c->hello = true;
		return;
	case RUN_FRAME_STARTED:
		if (len || !c->hello || c->started)
			chan_break(c, "the guest's init sent a bad started frame");
		else
			c->started = true;
		return;
	case RUN_FRAME_STDOUT:
	case RUN_FRAME_STDERR:
	case RUN_FRAME_FAIL:
		if (len > RUN_FRAME_MAX)
			chan_break(c, "the guest's init sent an oversized frame");
		else if (!c->hello)
			chan_break(c, "the guest's init sent output before its hello");
		else if (type == RUN_FRAME_FAIL && !len)
			c->failed = true; /* no reason given */
		return;
	case RUN_FRAME_EXIT:
		if (len != 1 || !c->hello)
			chan_break(c, "the guest's init sent a bad exit frame");
		return;
	default:
		chan_break(c, "the guest's init sent a frame of unknown type");
	}
}

static void payload(struct run_chan *c, const uint8_t *p, size_t n)
{
	switch (c->hdr[0]) {
	case RUN_FRAME_STDOUT:
		c->output(c->opaque, 1, p, n);
		break;
	case RUN_FRAME_STDERR:
		c->output(c->opaque, 2, p, n);
		break;
	case RUN_FRAME_EXIT:
		c->status = p[0];
		c->exited = true;
		break;
	case RUN_FRAME_FAIL:
		for (size_t i = 0; i < n && c->reason_len < sizeof(c->reason) - 1; i++)
			/* Printable text only: it ends up on the user's terminal. */
			c->reason[c->reason_len++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
		c->reason[c->reason_len] = '\0';
		if (n == c->left)
			c->failed = true;
		break;
	}
}

bool run_chan_feed(struct run_chan *c, const uint8_t *buf, size_t len)
{
	while (len && !over(c)) {
		if (c->hdr_len < RUN_FRAME_HDR) {
			c->hdr[c->hdr_len++] = *buf++;
			len--;
			if (c->hdr_len == RUN_FRAME_HDR)
				frame_start(c);
		} else {
			size_t n = len < c->left ? len : c->left;

			payload(c, buf, n);
			c->left -= (uint32_t)n;
			buf += n;
			len -= n;
		}
		if (c->hdr_len == RUN_FRAME_HDR && !c->left)
			c->hdr_len = 0;
	}
	return over(c);
}
