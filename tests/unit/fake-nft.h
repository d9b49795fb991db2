/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An nf_tables "kernel" in memory behind a VwNftBackend, for the unit tests:
 * it reads the batches virtwire sends message by message and answers its
 * requests with the messages the kernel would send, so everything above the
 * backend (reading, diffing, batches, generations, the rules in other
 * tables) runs unchanged without root.
 *
 * Where virtwire depends on the kernel's semantics the fake has them: a
 * batch applies whole or not at all (the refused message's sequence number
 * and an explanation are reported); ENOENT for anything missing; EEXIST or
 * EBUSY for an element whose key is there with other data, nothing when it
 * is there with the same data; ERESTART for a batch made for a generation
 * the ruleset has left (NFNL_BATCH_GENID); an interval's end deleted only
 * with a start right below it; a table's deletion takes all it holds; a
 * chain that is still jumped to cannot be deleted; rule handles; rules
 * inserted at the head or appended; a generation counted up by every batch
 * that changed something.
 *
 * Also here, for the scenarios that run on both the fake and the kernel:
 * views of a ruleset as text (read back through any backend, or straight
 * from the fake's memory) and batches of "someone else's" built by hand.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <virtwire/exec.h>

struct nftnl_rule;

typedef struct FakeNft FakeNft;

/* An empty ruleset behind a new backend, which owns it (freed with
 * vw_nft_backend_free); *@fake is for the test hooks below. */
VwNftBackend *fake_nft_new(FakeNft **fake);

/* ---- test hooks ---- */

/* The @nth dump from now (1: the next one) is answered with
 * NLM_F_DUMP_INTR, as when a batch was committed while it ran: every
 * message after its first carries the flag, its end too. */
void fake_nft_interrupt_dump(FakeNft *f, guint nth);
/* The next batch is refused whole with -@err at its first message. */
void fake_nft_fail_next_commit(FakeNft *f, int err);
uint32_t fake_nft_generation(const FakeNft *f);
/* Requests answered with a dump, and batches received (committed or not). */
guint fake_nft_dumps(const FakeNft *f);
/* Single elements asked for by key (NFT_MSG_GETSETELEM without a dump). */
guint fake_nft_gets(const FakeNft *f);
guint fake_nft_batches(const FakeNft *f);

/* ---- views of a ruleset, as text ----
 *
 * chains: "NAME", or "NAME type T hook H prio P policy V" for base chains;
 * rules: the canonical text of the expressions (vw_nft_rule_canon), then
 *   ' comment "…"' when the rule has one (user data, or an xtables comment);
 * sets: "NAME flags F key T/L [data T/L] [counter]";
 * elements: "KEY[ - KEYEND][ flags F][ : DATA| : verdict V[ CHAIN]]
 *   [ comment "…"][ counter P/B]", bytes in hex.
 * Each is NULL when the table (chain, set) is not there. */

GPtrArray *fake_nft_chains(FakeNft *f, int family, const char *table);
GPtrArray *fake_nft_rules(FakeNft *f, int family, const char *table, const char *chain);
GPtrArray *fake_nft_sets(FakeNft *f, int family, const char *table);
GPtrArray *fake_nft_elems(FakeNft *f, int family, const char *table, const char *set);
/* Every table, "FAMILY NAME" (family as a number). */
GPtrArray *fake_nft_tables(FakeNft *f);

/* The same views, read through @be with dumps, as the kernel answers them. */
GPtrArray *nft_view_chains(const VwNftBackend *be, int family, const char *table);
GPtrArray *nft_view_rules(const VwNftBackend *be, int family, const char *table, const char *chain);
GPtrArray *nft_view_sets(const VwNftBackend *be, int family, const char *table);
GPtrArray *nft_view_elems(const VwNftBackend *be, int family, const char *table, const char *set);
GPtrArray *nft_view_tables(const VwNftBackend *be);
/* The handles of a chain's rules, in order (guint64 in a GArray); NULL
 * when the chain is not there. */
GArray *nft_view_handles(const VwNftBackend *be, int family, const char *table, const char *chain);
/* A rule of a chain as libnftnl reads it back (the @index-th, from 0), for
 * re-adding it elsewhere; NULL when there is none. */
struct nftnl_rule *nft_view_rule(const VwNftBackend *be, int family, const char *table, const char *chain, guint index);

/* An element as the views print it. */
typedef struct {
	uint8_t key[64], key_end[64], data[64];
	uint32_t key_len, key_end_len, data_len;
	uint32_t flags;
	bool has_verdict;
	int32_t verdict;
	char *chain;
	char *comment;
	bool has_counter;
	uint64_t packets, bytes;
} NftElemText;

char *nft_elem_text(const NftElemText *e);

/* ---- someone else's batches, committed through any backend ---- */

typedef struct NftOther NftOther;

NftOther *nft_other_new(void);
void nft_other_free(NftOther *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NftOther, nft_other_free)
void nft_other_table(NftOther *b, bool add, int family, const char *table);
/* A base chain when @type is not NULL. */
void nft_other_chain(NftOther *b, bool add, int family, const char *table, const char *chain, const char *type,
		     int hook, int prio);
/* Rule @r (taken; its table, chain and family set), appended or inserted at
 * the head. */
void nft_other_rule(NftOther *b, struct nftnl_rule *r, bool append);
void nft_other_del_rule(NftOther *b, int family, const char *table, const char *chain, guint64 handle);
/* One element of set @set of table inet virtwire (@e->comment becomes its
 * comment). */
void nft_other_elem(NftOther *b, bool add, const char *set, const NftElemText *e);
/* A set of table inet virtwire. */
void nft_other_set(NftOther *b, const char *name, uint32_t flags, uint32_t key_type, uint32_t key_len);
/* 0, or the -errno the backend reported. */
int nft_other_commit(NftOther *b, const VwNftBackend *be);
