/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FSCACHED_JSON_GET_H
#define FSCACHED_JSON_GET_H

#include <json-c/json.h>
#include <stddef.h>

/* The string member @key of @o, or NULL (missing, or not a string). */
static inline const char *json_get_string(struct json_object *o,
					  const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

#endif
