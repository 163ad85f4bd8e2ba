// SPDX-License-Identifier: GPL-2.0
/*
 * A configuration (--config, PUT /api/v2/blobs, the state file): whatever
 * parses must survive a round trip through its own JSON unchanged.
 */
#include <json-c/json.h>
#include <string.h>

#include "config/config.h"
#include "fuzz.h"
#include "lib/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fscached_config *cfg = NULL, *again = NULL;
	struct json_object *a, *b;
	char err[CONFIG_ERR_MAX];
	char *text = fuzz_string(data, size);

	if (!text)
		return 0;
	if (!config_parse_string(text, &cfg, err, sizeof(err))) {
		a = config_to_json(cfg);
		FUZZ_CHECK(a);
		FUZZ_CHECK(!config_from_json(a, &again, err, sizeof(err)));
		b = config_to_json(again);
		FUZZ_CHECK(!strcmp(json_object_to_json_string(a),
				   json_object_to_json_string(b)));
		FUZZ_CHECK(config_same_manager(cfg, again));
		json_object_put(a);
		json_object_put(b);
		config_free(again);
	} else {
		FUZZ_CHECK(!cfg);
	}
	config_free(cfg);
	free(text);
	return 0;
}
