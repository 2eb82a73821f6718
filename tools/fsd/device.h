/* SPDX-License-Identifier: GPL-2.0-only */
/* shmvm-fsd as a vhost-user device: virtio-fs config, queues served by the FUSE handler. */
#ifndef SHMVM_FSD_DEVICE_H
#define SHMVM_FSD_DEVICE_H

#include <stdint.h>

#include "tools/fsd/fuse_server.h"
#include "vhost/backend.h"

#define VIRTIO_FS_TAG_LEN 36

struct fsd_device {
	struct fsd *fs;
	struct vu_backend *b; /* the DAX window's mappings go through its backend channel */
	uint8_t config[40]; /* struct virtio_fs_config: tag[36], le32 num_request_queues */
	uint64_t dax_window; /* 0: no DAX window */
	struct vq_elem elem;
};

/*
 * Fill @ops for @d: queue 0 hiprio, @nreq request queues, config with @tag,
 * a DAX window of @dax_window bytes (0: none) served through @b.
 */
void fsd_device_init(struct fsd_device *d, struct fsd *fs, struct vu_backend *b, const char *tag,
		     unsigned int nreq, uint64_t dax_window, struct vu_backend_ops *ops);

/* How shmvm-fsd's DAX window is mapped: SHMEM_MAP / SHMEM_UNMAP of region 0 through the device's backend. */
extern const struct fsd_dax_ops fsd_device_dax_ops;

#endif
