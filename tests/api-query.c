// SPDX-License-Identifier: GPL-2.0-only
/*
 * api-query: one request to a running shmvm's control socket, for the test
 * scripts that poll it. tools/shmvm-api does the same for people; this one
 * is C because a Python interpreter starts in about a second under nested
 * emulation (tools/with-kvm), and the boot tests ask the socket hundreds of
 * times, on the guest's only CPU.
 *
 *   api-query [--wait MS] SOCKET CMD            print the reply (one JSON line)
 *   api-query [--wait MS] SOCKET CMD PATH...    print the value at each PATH
 *
 * A PATH is dotted members and array indexes (devices.0.counters.maps); "*"
 * sums what follows over every element of an array, "#" is an array's
 * length: devices.*.regions.*.mappings.# counts every live mapping. Exit
 * status: 0; 1 if the reply is not ok or a PATH is not there or not a
 * number; 2 on usage or connection errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/api_client.h"

/* The value at @path (strtok'd in place) below @o, summed over "*": 0, or -1 if not there. */
static int eval(json_object *o, char *path, int64_t *out)
{
	char *dot = strchr(path, '.');
	char *rest = dot ? dot + 1 : NULL;

	if (dot)
		*dot = '\0';
	if (!strcmp(path, "*") || !strcmp(path, "#")) {
		size_t n;

		if (!json_object_is_type(o, json_type_array))
			return -1;
		n = json_object_array_length(o);
		if (path[0] == '#') {
			*out = (int64_t)n;
			return rest ? -1 : 0;
		}
		if (!rest)
			return -1;
		*out = 0;
		for (size_t i = 0; i < n; i++) {
			char copy[256];
			int64_t v;

			snprintf(copy, sizeof(copy), "%s", rest);
			if (eval(json_object_array_get_idx(o, i), copy, &v))
				return -1;
			*out += v;
		}
		return 0;
	}
	if (json_object_is_type(o, json_type_array)) {
		char *end;
		long i = strtol(path, &end, 10);

		if (*end || i < 0 || (size_t)i >= json_object_array_length(o))
			return -1;
		o = json_object_array_get_idx(o, (size_t)i);
	} else if (!json_object_object_get_ex(o, path, &o)) {
		return -1;
	}
	if (rest)
		return eval(o, rest, out);
	if (!json_object_is_type(o, json_type_int))
		return -1;
	*out = json_object_get_int64(o);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"wait", required_argument, NULL, 'w'}, {0}};
	json_object *reply;
	int wait_ms = 0, c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'w')
			return 2;
		wait_ms = atoi(optarg);
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: api-query [--wait MS] SOCKET CMD [PATH...]\n");
		return 2;
	}
	rc = api_request(argv[optind], argv[optind + 1], wait_ms, &reply);
	if (rc == -EPROTO) {
		fprintf(stderr, "api-query: %s: %s: not an ok JSON reply\n", argv[optind], argv[optind + 1]);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "api-query: %s: %s\n", argv[optind], strerror(-rc));
		return 2;
	}
	if (argc - optind == 2)
		puts(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	for (int i = optind + 2; i < argc; i++) {
		char path[256];
		int64_t v;

		snprintf(path, sizeof(path), "%s", argv[i]);
		if (strlen(argv[i]) >= sizeof(path) || eval(reply, path, &v)) {
			fprintf(stderr, "api-query: %s: no number at %s\n", argv[optind + 1], argv[i]);
			rc = 1;
			break;
		}
		printf("%lld\n", (long long)v);
	}
	json_object_put(reply);
	return rc ? 1 : 0;
}
