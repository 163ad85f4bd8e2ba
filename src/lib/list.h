/* SPDX-License-Identifier: GPL-2.0 */
/* A doubly linked list in the kernel's style: embedded nodes, no allocation. */
#ifndef FSCACHED_LIST_H
#define FSCACHED_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name)	{ &(name), &(name) }

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list_head *head)
{
	head->next = head;
	head->prev = head;
}

static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

static inline void list_insert(struct list_head *node, struct list_head *prev,
			       struct list_head *next)
{
	next->prev = node;
	node->next = next;
	node->prev = prev;
	prev->next = node;
}

static inline void list_add(struct list_head *node, struct list_head *head)
{
	list_insert(node, head, head->next);
}

static inline void list_add_tail(struct list_head *node, struct list_head *head)
{
	list_insert(node, head->prev, head);
}

static inline void list_del(struct list_head *node)
{
	node->next->prev = node->prev;
	node->prev->next = node->next;
	list_init(node);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)

#define list_first_entry(head, type, member) \
	list_entry((head)->next, type, member)

#define list_for_each_entry(pos, head, member)				     \
	for (pos = list_entry((head)->next, __typeof__(*pos), member);	     \
	     &pos->member != (head);					     \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))

#define list_for_each_entry_safe(pos, n, head, member)			     \
	for (pos = list_entry((head)->next, __typeof__(*pos), member),	     \
	     n = list_entry(pos->member.next, __typeof__(*pos), member);     \
	     &pos->member != (head);					     \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

#endif
