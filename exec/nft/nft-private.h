/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nftables boundary: libnftnl objects from the plan, the kernel's table
 * read back, and batches sent. */
#pragma once

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <virtwire/exec.h>
#include <virtwire/plan.h>

typedef struct nftnl_rule nftnl_rule;
typedef struct nftnl_set nftnl_set;
typedef struct nftnl_set_elem nftnl_set_elem;
typedef struct nftnl_chain nftnl_chain;
typedef struct nftnl_table nftnl_table;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(nftnl_rule, nftnl_rule_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nftnl_set, nftnl_set_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nftnl_set_elem, nftnl_set_elem_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nftnl_chain, nftnl_chain_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nftnl_table, nftnl_table_free)

/* ---- nft-build.c: plan → libnftnl (no sockets) ---- */

/* A rule of chain @chain of @family @table. */
struct nftnl_rule *vw_nft_build_rule(int family, const char *table, const char *chain, const VwRule *r);
/* A rule of another table (virtwire's accepts in libvirt's firewall). */
struct nftnl_rule *vw_nft_build_foreign_rule(const VwForeignRule *f);
/* Objects of one of virtwire's tables (@t: its family and name). */
struct nftnl_chain *vw_nft_build_chain(const VwTable *t, const VwChain *c);
struct nftnl_set *vw_nft_build_set(const VwTable *t, const VwSet *s);
struct nftnl_set_elem *vw_nft_build_elem(const VwElem *e);
struct nftnl_table *vw_nft_build_table(const VwTable *t);

/* The canonical text of a rule's expressions (libnftnl's own notation, one
 * "[ … ]" per expression, a counter without its values): equal for equal
 * bytecode. */
char *vw_nft_rule_canon(struct nftnl_rule *r);

/* ---- nft-reconcile.c: scopes (exported for tests) ---- */

/* An owner tag in a scope: listed, or NET's port under "NET:*"; skeleton
 * elements (no owner) always are. */
bool vw_nft_owner_in_scope(const char *owner, GPtrArray *scope);
/* A per-network chain "nw-ID-KIND" of a network in the scope. */
bool vw_nft_chain_in_scope(const char *name, GPtrArray *scope);

/* ---- nft-kernel.c: reading and writing the kernel ---- */

typedef struct {
	uint32_t hook;
	int32_t prio;
	char *type;
	bool base;
	GPtrArray *rules; /* char*: canonical rule text */
	guint64 handle;
} VwKChain;

typedef struct {
	uint8_t key[VW_NFT_DATA_MAX];
	uint32_t key_len;
	uint8_t key_end[VW_NFT_DATA_MAX];
	uint32_t key_end_len;
	uint32_t flags;
	uint8_t data[VW_NFT_DATA_MAX];
	uint32_t data_len;
	bool has_verdict;
	int32_t verdict;
	char *chain;
	char *owner; /* the element's comment */
	guint64 packets, bytes;
	bool has_counter;
	bool lone_end; /* an interval's end without its start right below it */
} VwKElem;

typedef struct {
	uint32_t flags, key_type, key_len, data_type, data_len;
	GHashTable *elems; /* VwKElem* (hashed by key, key end, flags) → itself */
} VwKSet;

/* One of virtwire's tables in the kernel. */
typedef struct {
	int family;	  /* NFPROTO_* */
	const char *name; /* VW_NFT_TABLE */
	bool exists;
	GHashTable *chains;	/* name → VwKChain* */
	GPtrArray *chain_order; /* char*: names in kernel order */
	GHashTable *sets;	/* name → VwKSet* */
} VwKTable;

void vw_ktable_free(VwKTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwKTable, vw_ktable_free)

guint vw_kelem_hash(gconstpointer p);
gboolean vw_kelem_equal(gconstpointer a, gconstpointer b);

/* ---- nft-read.c: reading the kernel through a backend ---- */

/* Reads one of virtwire's tables (@t's family and name): chains, rules,
 * sets and (unless @no_elems) their elements, from dumps none of which a
 * change interrupted. */
bool vw_nft_read(const VwNftBackend *be, const VwTable *t, bool no_elems, VwKTable **ret, GError **error);

/* The kernel's element of set @s of table @t with @probe's key (and key
 * end, flags) into *@ret, or NULL when there is none (or no such set): one
 * NFT_MSG_GETSETELEM, no dump. */
bool vw_nft_get_elem(const VwNftBackend *be, const VwTable *t, const VwSet *s, const VwElem *probe, VwKElem **ret,
		     GError **error);
/* Every element of set @s of table @t (VwKElem*, into @out, which frees
 * them): one dump of that set alone. False, with nothing certain, when the
 * kernel refused or the dump was interrupted by a commit. */
bool vw_nft_dump_set(const VwNftBackend *be, const VwTable *t, const VwSet *s, GPtrArray *out, GError **error);
void vw_kelem_free(VwKElem *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwKElem, vw_kelem_free)

/* Every rule of @family @table @chain, in order, to @cb; *@exists is false
 * when the table or chain is not there. */
bool vw_nft_dump_rules(const VwNftBackend *be, int family, const char *table, const char *chain, VwNftReplyFn cb,
		       void *data, bool *exists, GError **error);

/* ---- nft-reconcile.c: elements (shared with nft-delta.c) ---- */

/* Planned element @d and the kernel's @k (same key) alike: owner, data or
 * verdict. */
bool vw_nft_elem_same(const VwElem *d, const VwKElem *k);
/* A kernel element as a plan element, for deleting it. */
VwElem *vw_nft_elem_from_kernel(const VwKElem *k, const char *text);
/* Whether the kernel's @k of set @s, another owner's, is a port's that the
 * port of @d takes over (the spoof filter's reused taps and MACs). */
bool vw_nft_taken_over(const VwSet *s, const VwElem *d, const VwKElem *k);

/* ---- nft-released.c ---- */

/* Kernel element @k of set @set (NULL: not of table inet) as the forward it
 * is, when @set is a forward map; NULL otherwise. */
VwReleased *vw_nft_released_elem(const char *set, const VwKElem *k);

/* The forwards (VwReleased* into @out) a batch made by @req from kernel
 * table @kt and @plan (may be NULL with VW_NFT_DELETE_TABLE) takes away:
 * forward map elements it deletes, or replaces with another target. @kt
 * must have been read with its elements. */
void vw_nft_released(const VwPlan *plan, const VwKTable *kt, const VwNftRequest *req, GPtrArray *out);

/* ---- nft-batch.c ---- */

/* A batch under construction; each message has a description for errors. */
typedef struct VwBatch VwBatch;

/* A batch made for generation @genid of the ruleset (0: for any). */
VwBatch *vw_batch_new(uint32_t genid);
void vw_batch_free(VwBatch *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwBatch, vw_batch_free)
guint vw_batch_count(const VwBatch *b);

/* Messages about one of virtwire's tables (@t's family and name). */
void vw_batch_add_table(VwBatch *b, const VwTable *t);
void vw_batch_del_table(VwBatch *b, const VwTable *t);
void vw_batch_add_set(VwBatch *b, const VwTable *t, const VwSet *s);
void vw_batch_add_chain(VwBatch *b, const VwTable *t, const VwChain *c);
void vw_batch_flush_chain(VwBatch *b, const VwTable *t, const char *chain);
void vw_batch_del_chain(VwBatch *b, const VwTable *t, const char *chain);
void vw_batch_add_rule(VwBatch *b, const VwTable *t, const char *chain, const VwRule *r);
/* Elements (VwElem*) of one set, packed into as few messages as fit. */
void vw_batch_elems(VwBatch *b, const VwTable *t, bool add, const VwSet *set, GPtrArray *elems);
/* Makes the batch carry, after its @after-th message (or last, if it has
 * fewer), one message the kernel refuses: a test fault point. */
void vw_batch_set_fault(VwBatch *b, guint after);

/* Rules in another table (the coexistence rule, see nft-coexist.c). The
 * inserted rule goes to the head of its chain; @what names the chain. */
void vw_batch_del_foreign_rule(VwBatch *b, int family, const char *table, const char *chain, guint64 handle,
			       const char *what);
void vw_batch_insert_foreign_rule(VwBatch *b, struct nftnl_rule *r, const char *what);

/* Sends the batch; the kernel commits all of it or none. On failure the
 * error names the message that failed and what the kernel said; *@stale
 * says the kernel refused it because the ruleset is no longer at the
 * batch's generation (read it again, and make the batch again). */
bool vw_batch_send(const VwNftBackend *be, VwBatch *b, bool *stale, GError **error);

/* ---- nft-coexist.c ---- */

/* Brings virtwire's accepts in libvirt's firewall (plan->coexist) in line
 * for the networks in @scope (all when NULL; @plan NULL: none wanted). */
bool vw_coexist_diff(const VwNftBackend *be, const VwPlan *plan, GPtrArray *scope, VwBatch *b, GPtrArray *drift,
		     GError **error);
