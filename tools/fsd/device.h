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
	uint8_t config[40]; /* struct virtio_fs_config: tag[36], le32 num_request_queues */
	uint64_t dax_window; /* 0: no DAX window */
	struct vq_elem elem;
};

/* Fill @ops for @d: queue 0 hiprio, @nreq request queues, config with @tag. */
void fsd_device_init(struct fsd_device *d, struct fsd *fs, const char *tag, unsigned int nreq,
		     uint64_t dax_window, struct vu_backend_ops *ops);

#endif
