// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "tools/fsd/device.h"

/*
 * Every queue (hiprio too) carries FUSE requests; the handler knows which
 * get replies. After a request that mapped something into the DAX window,
 * the rest wait for the next round: the guest may already use that mapping
 * as a buffer, and the backend sees it only once its ADD_MEM_REG is read.
 */
static void fsd_kick(struct vu_backend *b, unsigned int q, void *opaque)
{
	struct fsd_device *d = opaque;
	struct vq *vq = vu_backend_vq(b, q);

	while (vq && vq_pop(vq, &d->elem) == 1) {
		size_t n = fsd_handle(d->fs, d->elem.iov, d->elem.in_num, d->elem.iov + d->elem.in_num,
				      d->elem.out_num);

		vq_push(vq, &d->elem, (uint32_t)n);
		vu_backend_notify(b, q);
		if (vu_backend_yield(b, q))
			break;
	}
}

static int fsd_get_config(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	struct fsd_device *d = opaque;

	memcpy(buf, d->config + off, len);
	return 0;
}

static void fsd_shmem(void *opaque, uint64_t sizes[VU_MAX_SHMEM_REGIONS])
{
	struct fsd_device *d = opaque;

	sizes[0] = d->dax_window; /* shmid 0: the DAX window (VIRTIO_FS_SHMCAP_ID_CACHE) */
}

/* Region 0 of the device is the DAX window (VIRTIO_FS_SHMCAP_ID_CACHE). */
static int fsd_dax_map(void *opaque, int fd, uint64_t foffset, uint64_t moffset, uint64_t len,
		       bool writable)
{
	struct fsd_device *d = opaque;

	return vu_backend_shmem_map(d->b, 0, foffset, moffset, len, writable, fd);
}

static int fsd_dax_unmap(void *opaque, uint64_t moffset, uint64_t len)
{
	struct fsd_device *d = opaque;

	return vu_backend_shmem_unmap(d->b, 0, moffset, len);
}

const struct fsd_dax_ops fsd_device_dax_ops = { .map = fsd_dax_map, .unmap = fsd_dax_unmap };

static void fsd_reset_dev(void *opaque)
{
	fsd_reset(((struct fsd_device *)opaque)->fs);
}

void fsd_device_init(struct fsd_device *d, struct fsd *fs, struct vu_backend *b, const char *tag,
		     unsigned int nreq, uint64_t dax_window, struct vu_backend_ops *ops)
{
	uint32_t n = nreq;

	memset(d, 0, sizeof(*d));
	d->fs = fs;
	d->b = b;
	d->dax_window = dax_window;
	strncpy((char *)d->config, tag, VIRTIO_FS_TAG_LEN);
	memcpy(d->config + VIRTIO_FS_TAG_LEN, &n, sizeof(n)); /* little-endian host */
	*ops = (struct vu_backend_ops){
		.num_queues = (uint16_t)(1 + nreq),
		.config_size = sizeof(d->config),
		.get_config = fsd_get_config,
		.get_shmem_config = dax_window ? fsd_shmem : NULL,
		.queue_kick = fsd_kick,
		.reset = fsd_reset_dev,
	};
}
