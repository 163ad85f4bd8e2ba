// SPDX-License-Identifier: GPL-2.0
/*
 * What a daemon that takes the group over needs: the mounts (a state file
 * rewritten on every mount and unmount), and the events its predecessor
 * had read but not answered (journal.h).
 *
 * The marks, the mounts and the events that nobody has read yet all live
 * in the kernel, with the group: the new daemon only opens the blob files
 * again and serves. Those fds are opened after the marks, so its own fills
 * through them raise events, which serve.c allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "fanotify_int.h"
#include "image/bootstrap.h"
#include "lib/json_get.h"
#include "lib/log.h"
#include "uapi/fanotify_hsm.h"

/* Beyond the highest fd recorded, numbers read but not yet recorded. */
#define FAN_REPLAY_MARGIN	256

/* Whether an EROFS filesystem is mounted on @mountpoint. */
static bool erofs_mounted_on(const char *mountpoint)
{
	char line[8192], mp[4096], type[64];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %4095s %63s", mp, type) == 2 &&
			!strcmp(mp, mountpoint) && !strcmp(type, "erofs");
	fclose(f);
	return found;
}

bool fan_state_has_live_mounts(struct fanotify_frontend *fe)
{
	struct json_object *root, *arr;
	bool live = false;
	size_t i;

	root = json_object_from_file(fe->state_path);
	if (!root)
		return false;
	if (json_object_object_get_ex(root, "mounts", &arr) &&
	    json_object_is_type(arr, json_type_array))
		for (i = 0; i < json_object_array_length(arr) && !live; i++) {
			const char *mp = json_get_string(json_object_array_get_idx(arr, i),
						 "mountpoint");

			live = mp && erofs_mounted_on(mp);
		}
	json_object_put(root);
	return live;
}

/* One mount of the state file, still mounted: its blob files again. */
static int fan_restore_mount(struct fanotify_frontend *fe, struct json_object *o)
{
	const char *mp = json_get_string(o, "mountpoint"), *src = json_get_string(o, "source");
	const char *type = json_get_string(o, "fs_type");
	struct bootstrap_info bi = { 0 };
	struct fscached_config *cfg = NULL;
	struct json_object *config;
	char why[512] = "";
	struct fan_mount *m;
	bool single = false;
	int ret;

	if (!mp || !src || !type ||
	    !json_object_object_get_ex(o, "config", &config))
		return -EINVAL;
	if (!erofs_mounted_on(mp)) {
		log_warn("%s was unmounted while no daemon served it: forgotten", mp);
		return -ENOENT;
	}
	ret = config_from_json(config, &cfg, why, sizeof(why));
	if (!ret)
		ret = fan_image_read(src, cfg->validate, &bi, &single, why,
				     sizeof(why));
	m = ret ? NULL : calloc(1, sizeof(*m));
	if (!ret && !m)
		ret = -ENOMEM;
	if (ret)
		goto out;
	m->mountpoint = strdup(mp);
	m->source = strdup(src);
	m->fs_type = strdup(type);
	m->config = json_object_get(config);
	m->single = single;
	ret = !m->mountpoint || !m->source || !m->fs_type ? -ENOMEM :
	      fan_mount_files(fe, m, &bi, cfg, why, sizeof(why));
	if (ret) {
		fan_mount_free(fe, m, false);
		goto out;
	}
	pthread_mutex_lock(&fe->mounts_lock);
	list_add_tail(&m->node, &fe->mounts);
	fe->nr_mounts++;
	pthread_mutex_unlock(&fe->mounts_lock);
out:
	if (ret)
		log_error("cannot serve %s (%s) again: %s%s; its reads get EIO until it is unmounted",
			  mp, src, *why ? why : strerror(-ret), "");
	bootstrap_info_free(&bi);
	config_free(cfg);
	return ret;
}

int fan_state_restore(struct fanotify_frontend *fe)
{
	struct json_object *root, *arr;
	size_t i;

	root = json_object_from_file(fe->state_path);
	if (!root) {
		log_warn("no mounts to take over in %s: %s", fe->state_path,
			 json_util_get_last_err());
		return -ENOENT;
	}
	/* Before the API can reach this front end: no mount runs meanwhile. */
	fe->restoring = true;
	if (json_object_object_get_ex(root, "mounts", &arr) &&
	    json_object_is_type(arr, json_type_array))
		for (i = 0; i < json_object_array_length(arr); i++)
			fan_restore_mount(fe, json_object_array_get_idx(arr, i));
	fe->restoring = false;
	pthread_mutex_lock(&fe->mounts_lock);
	fan_state_save(fe);
	pthread_mutex_unlock(&fe->mounts_lock);
	json_object_put(root);
	return 0;
}

/*
 * Hold fd number @fd until its old event is answered. The kernel matches
 * an answer by number alone: were a new event of ours given the same
 * number meanwhile, the answer could go to it, over a hole. @fd in use by
 * us already cannot be held (it may close any time): false.
 */
static bool fan_hold_number(int placeholder, int fd)
{
	if (placeholder < 0 || fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
		return false;
	return dup3(placeholder, fd, O_CLOEXEC) == fd;
}

void fan_takeover_events(struct fanotify_frontend *fe)
{
	struct fan_journal *j = &fe->journal;
	unsigned int fd, max, denied = 0, own = 0;
	struct fan_slot s;
	int placeholder, dead;

	if (!j->slots)
		return;
	max = j->head->max_fd;
	dead = j->head->pid;
	fe->replay = calloc(max ? max : 1, sizeof(*fe->replay));
	placeholder = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (fd = 0; fd < max + FAN_REPLAY_MARGIN; fd++) {
		s = fd < max ? j->slots[fd] : (struct fan_slot){ 0 };
		if (s.state == FAN_SLOT_KNOWN && fe->replay &&
		    fan_hold_number(placeholder, (int)fd)) {
			fe->replay[fe->nr_replay].fd = (int)fd;
			fe->replay[fe->nr_replay++].slot = s;
			continue;
		}
		/*
		 * Read, but on which file is not known, or not even recorded
		 * (a kill just after read(2) returned): no hole, EIO. Nothing
		 * of ours is pending yet, so whatever matches is a dead
		 * daemon's event. Its own writes have nobody to tell.
		 */
		if (fan_answer(fe, (int)fd, FAN_DENY_ERRNO(EIO)))
			continue;
		if (dead && s.state != FAN_SLOT_FREE && s.pid == dead)
			own++;
		else
			denied++;
	}
	if (placeholder >= 0)
		close(placeholder);
	counter_add(&fe->stats.replay_denied, denied);
	if (denied)
		log_warn("fanotify: %u event%s the previous daemon had read could only be answered EIO (it had not recorded their ranges)",
			 denied, denied == 1 ? "" : "s");
	if (own)
		log_debug("fanotify: %u write%s of the previous daemon's own left unanswered",
			  own, own == 1 ? "" : "s");
	fan_journal_reset(j, fe->self);
}
