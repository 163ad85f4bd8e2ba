// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/bindings.h"
#include "config/config.h"
#include "handover.h"
#include "lib/log.h"
#include "notify.h"
#include "supervisor.h"

int handover_init(struct handover *h, const char *cache_dir,
		  const char *supervisor, struct bindings *bindings)
{
	h->supervisor = supervisor;
	h->bindings = bindings;
	if (snprintf(h->state_path, sizeof(h->state_path), "%s/%s", cache_dir,
		     HANDOVER_STATE_FILE) >= (int)sizeof(h->state_path))
		return -ENAMETOOLONG;
	return 0;
}

int handover_from_service_manager(void)
{
	int fd = service_listen_fd(HANDOVER_FDNAME);

	if (fd >= 0)
		log_info("the service manager kept the cache device for us (fd %d)",
			 fd);
	else if (fd != -ENOENT)
		log_warn("cannot take the cache device from the service manager: %s",
			 strerror(-fd));
	return fd;
}

int handover_to_service_manager(int dev_fd)
{
	int ret;

	if (dev_fd < 0)
		return 0;
	ret = service_notify_fd("FDSTORE=1\nFDNAME=" HANDOVER_FDNAME, dev_fd);
	if (ret < 0)
		log_warn("cannot keep the cache device in the service manager's fd store: %s; a restart will fail the mounts' pending reads (FileDescriptorStoreMax= in the unit?)",
			 strerror(-ret));
	else if (ret > 0)
		log_debug("the cache device is in the service manager's fd store");
	return ret;
}

/* Bind the images of @root, a bindings_state() document from @where. */
static int load_states(struct handover *h, struct json_object *root,
		       const char *where)
{
	char err[CONFIG_ERR_MAX];
	int ret;

	if (!root) {
		log_error("%s: not JSON (%s); the images bound before the restart are not known",
			  where, json_util_get_last_err());
		return -EINVAL;
	}
	ret = bindings_load_state(h->bindings, root, err, sizeof(err));
	json_object_put(root);
	if (ret < 0) {
		log_error("%s: %s; some images bound before the restart are not known",
			  where, ret == -EINVAL ? err : strerror(-ret));
		return ret;
	}
	log_info("%d image%s bound again from %s", ret, ret == 1 ? "" : "s",
		 where);
	return 0;
}

int handover_take_from_supervisor(struct handover *h, int *dev_fd)
{
	char *states;
	size_t len;
	int ret;

	if (!h->supervisor)
		return -EINVAL;
	ret = supervisor_take_states(h->supervisor, dev_fd, &states, &len);
	if (ret)
		return ret;
	log_info("took the cache device and %zu bytes of states from the supervisor at %s",
		 len, h->supervisor);
	/* The state file is newer, when there is one: it follows every bind. */
	if (access(h->state_path, F_OK) && len)
		load_states(h, json_tokener_parse(states),
			    "the supervisor's states");
	free(states);
	return 0;
}

int handover_send_to_supervisor(struct handover *h, int dev_fd)
{
	struct json_object *root;
	const char *text;
	int ret;

	if (!h->supervisor)
		return -EINVAL;
	root = bindings_state(h->bindings);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	ret = supervisor_send_states(h->supervisor, dev_fd, text, strlen(text));
	if (!ret)
		log_info("the supervisor at %s keeps the cache device and our states",
			 h->supervisor);
	json_object_put(root);
	return ret;
}

int handover_load_state(struct handover *h, bool restored)
{
	if (restored && !access(h->state_path, F_OK))
		load_states(h, json_object_from_file(h->state_path),
			    h->state_path);
	else if (!restored && unlink(h->state_path) && errno != ENOENT)
		log_warn("cannot remove the state of an earlier run (%s): %s",
			 h->state_path, strerror(errno));
	return bindings_persist_to(h->bindings, h->state_path);
}
