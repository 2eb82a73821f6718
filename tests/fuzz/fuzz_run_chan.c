// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for `shmvm run`'s frame channel parser
 * (vmm/run_chan.c run_chan_feed()): the bytes the guest's init writes to
 * COM2. The stream is fed whole to one parser and in pieces (of the sizes
 * the input's first bytes give, cycled) to another; both must end in the
 * same state with the same output, as a serial port splits the bytes
 * anywhere. Also checked: output only on streams 1 and 2, in pieces of at
 * most RUN_FRAME_MAX and only after the hello; the reason is printable and
 * terminated; once over, a parser takes nothing more. (A bad 'S' or 'H'
 * frame still sets started or hello as it breaks the stream: only run.c's
 * timing marks see that, so it is not checked.)
 * Input: 1 byte n (mod 16), n piece sizes (0 means 256), then the stream.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/run/run_chan.h"

struct sink {
	struct run_chan *c;
	uint8_t *buf[2];
	size_t len[2];
};

static void output(void *opaque, int stream, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;

	if ((stream != 1 && stream != 2) || !len || len > RUN_FRAME_MAX || !s->c->hello)
		abort();
	memcpy(s->buf[stream - 1] + s->len[stream - 1], buf, len);
	s->len[stream - 1] += len;
}

static void check_state(const struct run_chan *c)
{
	if (c->reason_len >= RUN_REASON_MAX || c->reason[c->reason_len] != '\0' ||
	    strlen(c->reason) != c->reason_len || (c->started && !c->hello && !c->broken))
		abort();
	for (size_t i = 0; i < c->reason_len; i++)
		if (c->reason[i] < 0x20 || c->reason[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_chan whole, pieces;
	struct sink sw = {.c = &whole}, sp = {.c = &pieces};
	const uint8_t *stream;
	size_t n, len, at = 0;
	bool over_w, over_p = false;

	if (size < 1 || size < 1 + (size_t)(data[0] % 16))
		return 0;
	n = data[0] % 16;
	stream = data + 1 + n;
	len = size - 1 - n;
	for (int i = 0; i < 2; i++) {
		sw.buf[i] = malloc(len + 1);
		sp.buf[i] = malloc(len + 1);
		if (!sw.buf[i] || !sp.buf[i])
			abort();
	}
	run_chan_init(&whole, output, &sw);
	run_chan_init(&pieces, output, &sp);
	over_w = run_chan_feed(&whole, stream, len);
	for (unsigned int i = 0; at < len; i++) {
		size_t k = n ? (data[1 + i % n] ? data[1 + i % n] : 256) : 1;
		bool was_over = over_p;

		k = MIN(k, len - at);
		over_p = run_chan_feed(&pieces, stream + at, k);
		if (was_over && !over_p)
			abort(); /* over is for good */
		at += k;
		check_state(&pieces);
	}
	if (!len)
		over_p = run_chan_feed(&pieces, stream, 0);
	check_state(&whole);
	if (over_w != over_p || whole.hello != pieces.hello || whole.started != pieces.started ||
	    whole.exited != pieces.exited || whole.failed != pieces.failed ||
	    whole.broken != pieces.broken || (whole.exited && whole.status != pieces.status) ||
	    strcmp(whole.reason, pieces.reason))
		abort();
	for (int i = 0; i < 2; i++)
		if (sw.len[i] != sp.len[i] || memcmp(sw.buf[i], sp.buf[i], sw.len[i]))
			abort();
	/* Once over, nothing more is taken. */
	if (over_w) {
		size_t before = sw.len[0] + sw.len[1];

		if (!run_chan_feed(&whole, stream, len) || sw.len[0] + sw.len[1] != before)
			abort();
	}
	for (int i = 0; i < 2; i++) {
		free(sw.buf[i]);
		free(sp.buf[i]);
	}
	return 0;
}
