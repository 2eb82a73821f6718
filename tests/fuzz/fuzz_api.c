// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the control socket's request handler: any line
 * gets exactly one reply, a JSON object with a boolean "ok", and only a
 * "shutdown" request may ask to stop. Input: the request line.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct api_target t = { .nr_vcpus = 2, .memory = 1 << 30 };
	char *line = malloc(size + 1), *reply;
	json_object *o, *ok;
	bool shutdown = true;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0'; /* the socket side refuses lines with a NUL before this */
	reply = api_handle_line(&t, line, &shutdown);
	if (!reply)
		abort();
	o = json_tokener_parse(reply);
	if (!o || !json_object_object_get_ex(o, "ok", &ok) || !json_object_is_type(ok, json_type_boolean))
		abort();
	if (shutdown) {
		/* Only when the line really is {"cmd":"shutdown"...}, however it is spelt. */
		json_object *req = json_tokener_parse(line), *cmd;

		if (!req || !json_object_object_get_ex(req, "cmd", &cmd) ||
		    !json_object_is_type(cmd, json_type_string) ||
		    strcmp(json_object_get_string(cmd), "shutdown"))
			abort();
		json_object_put(req);
	}
	if (strchr(reply, '\n'))
		abort(); /* one reply is one line */
	json_object_put(o);
	free(reply);
	free(line);
	return 0;
}
