// SPDX-License-Identifier: GPL-2.0
/*
 * The state a restarted daemon reads back (its state file, or what a
 * supervisor returns): what loads must save back as the same document.
 */
#include <json-c/json.h>
#include <string.h>

#include "image/bindings.h"
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
	char *text = fuzz_string(data, size), err[CONFIG_ERR_MAX];
	struct json_object *doc, *saved, *again;
	struct bindings a, b;
	int n;

	if (!text)
		return 0;
	doc = json_tokener_parse(text);
	free(text);
	if (!doc)
		return 0;
	bindings_init(&a);
	n = bindings_load_state(&a, doc, err, sizeof(err));
	FUZZ_CHECK(n < 0 || (unsigned int)n == a.count);
	if (n >= 0) {
		saved = bindings_state(&a);
		bindings_init(&b);
		FUZZ_CHECK(bindings_load_state(&b, saved, err, sizeof(err)) == n);
		again = bindings_state(&b);
		FUZZ_CHECK(!strcmp(json_object_to_json_string(saved),
				   json_object_to_json_string(again)));
		json_object_put(saved);
		json_object_put(again);
		bindings_destroy(&b);
	}
	bindings_destroy(&a);
	json_object_put(doc);
	return 0;
}
