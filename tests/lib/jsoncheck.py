#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks virtwire's machine interface (docs/json.md) the way a consumer
would: parses each document with a real parser and asserts fields and
types. Usage: jsoncheck.py KIND FILE [ARG...]; exit 0 when it holds,
1 with the reason on stdout otherwise.

  check FILE ERRORS WARNINGS        a check document with those counts
  plan FILE NFT_FILE NETWORK        a plan (a forward on every address): the network, the tables' text
                                    equal to NFT_FILE (plan --nft), sets,
                                    chains, links, sysctls as fields
  plan-sets FILE NFT_JSON           plan's set and chain names equal those
                                    of nft -j list ruleset (NFT_JSON)
  status FILE NETWORK FORWARD ADDR GUEST_PORT HOST_PORT
                                    the forward by name: target address and
                                    ports as numbers, packets and bytes > 0,
                                    the bridge's traffic counted
  status-error FILE NETWORK         the network is listed with an error
  status-span FILE NETWORK DEVICE PEER MAC
                                    the spanning network's VXLAN device, up,
                                    with PEER among its peers and MAC learned
                                    behind PEER; a network without span: null
  verify FILE NETWORK MATCHES       matches true/false
  metrics FILE JSON_FILE            OpenMetrics (strict parser and the
                                    Prometheus text parser) with the same
                                    figures as the status document
"""
import json
import sys


def fail(msg):
    print(msg)
    sys.exit(1)


def doc(path, kind):
    with open(path) as f:
        d = json.load(f)
    if d.get("format_version") != 1:
        fail(f"format_version is {d.get('format_version')!r}, not 1")
    if d.get("kind") != kind:
        fail(f"kind is {d.get('kind')!r}, not {kind!r}")
    return d


def is_uint(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def check(path, errors, warnings):
    d = doc(path, "check")
    if d["errors"] != int(errors) or d["warnings"] != int(warnings):
        fail(f"errors/warnings {d['errors']}/{d['warnings']}, expected {errors}/{warnings}")
    if len(d["findings"]) != d["errors"] + d["warnings"] + sum(
            1 for f in d["findings"] if f["severity"] not in ("error", "warning")):
        fail("findings do not add up to the counts")
    for f in d["findings"]:
        for k in ("file", "line", "severity", "code", "message", "hint"):
            if k not in f:
                fail(f"finding without {k}: {f}")
        if f["line"] is not None and not is_uint(f["line"]):
            fail(f"line is not a number: {f}")


def plan(path, nft_file, network):
    d = doc(path, "plan")
    if d["networks"] != [network]:
        fail(f"networks {d['networks']}")
    with open(nft_file) as f:
        if d["nftables"] != f.read():
            fail("nftables differs from plan --nft")
    fams = [t["family"] for t in d["tables"]]
    if fams != ["inet", "bridge"]:
        fail(f"tables {fams}")
    inet = d["tables"][0]
    fwd = [s for s in inet["sets"] if s["name"] == "fwd4any"]
    if not fwd or not fwd[0]["map"] or not any(e["network"] == network for e in fwd[0]["elements"]):
        fail("map fwd4any without the network's element")
    base = [c for c in inet["chains"] if c["hook"] == "forward"]
    if not base or base[0]["type"] != "filter" or not isinstance(base[0]["priority"], int):
        fail(f"forward chain: {base}")
    if not all(isinstance(r, str) for c in inet["chains"] for r in c["rules"]):
        fail("rules are not strings")
    if not any(l["op"] == "bridge" and l["network"] == network for l in d["links"]):
        fail(f"no bridge link operation: {d['links']}")
    if not all(isinstance(s["restored_at_teardown"], bool) for s in d["sysctls"]):
        fail("sysctls")
    if not isinstance(d["host_firewall"]["integrate"], bool):
        fail("host_firewall.integrate")


def plan_sets(path, nft_json):
    d = doc(path, "plan")
    with open(nft_json) as f:
        kernel = json.load(f)["nftables"]
    for fam in ("inet", "bridge"):
        t = [t for t in d["tables"] if t["family"] == fam][0]
        ks = sorted(o.get("set", o.get("map", {})).get("name") for o in kernel
                    if ("set" in o or "map" in o) and o.get("set", o.get("map"))["family"] == fam)
        kc = sorted(o["chain"]["name"] for o in kernel if "chain" in o and o["chain"]["family"] == fam)
        if sorted(s["name"] for s in t["sets"]) != ks:
            fail(f"{fam}: sets {sorted(s['name'] for s in t['sets'])} != kernel {ks}")
        if sorted(c["name"] for c in t["chains"]) != kc:
            fail(f"{fam}: chains differ from the kernel's")


def network_of(d, name):
    n = [n for n in d["networks"] if n["name"] == name]
    if len(n) != 1:
        fail(f"network {name} listed {len(n)} times")
    return n[0]


def status(path, network, forward, addr, gport, hport):
    n = network_of(doc(path, "status"), network)
    if n["error"] is not None or not n["bridge_present"] or n["up"] is not True:
        fail(f"network state: {n}")
    if not all(is_uint(a["prefix_length"]) and isinstance(a["address"], str) for a in n["addresses"]):
        fail(f"addresses: {n['addresses']}")
    t = n["bridge_traffic"]
    if not t or not all(is_uint(t[k]) for k in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes")) \
            or t["rx_packets"] == 0:
        fail(f"bridge_traffic: {t}")
    f = [f for f in n["forwards"] if f["name"] == forward]
    if len(f) != 1:
        fail(f"forward {forward}: {n['forwards']}")
    f = f[0]
    if f["target"]["address"] != addr or f["target"]["ports"] != {"first": int(gport), "last": int(gport)}:
        fail(f"target: {f['target']}")
    if f["host_ports"] != {"first": int(hport), "last": int(hport)} or f["proto"] != "tcp":
        fail(f"host ports/proto: {f}")
    if not is_uint(f["packets"]) or f["packets"] == 0 or not is_uint(f["bytes"]) or f["bytes"] == 0:
        fail(f"counters: {f}")
    if not isinstance(n["spoof_filter"], bool) or not is_uint(n["spoofed"]):
        fail("spoof fields")


def status_error(path, network):
    n = network_of(doc(path, "status"), network)
    if not isinstance(n["error"], str) or not n["error"]:
        fail(f"no error for {network}: {n}")


def status_span(path, network, device, peer, mac):
    d = doc(path, "status")
    for other in d["networks"]:
        if other["name"] != network and other["error"] is None and "span" not in other:
            fail(f"{other['name']}: no span member")
    s = network_of(d, network)["span"]
    if not s or s["device"] != device or s["present"] is not True or s["up"] is not True:
        fail(f"span: {s}")
    if not is_uint(s["vni"]) or not is_uint(s["port"]) or not isinstance(s["local"], str):
        fail(f"span fields: {s}")
    if peer not in s["peers"] or s["local"] in s["peers"]:
        fail(f"peers: {s['peers']} (local {s['local']})")
    if {"mac": mac, "peer": peer} not in s["remote_macs"]:
        fail(f"remote_macs: {s['remote_macs']}")


def verify(path, network, matches):
    d = doc(path, "verify")
    n = network_of(d, network)
    if n["matches"] is not (matches == "true"):
        fail(f"matches {n['matches']}: {n}")
    if not is_uint(d["drift"]) or (matches == "true") != (len(n["drift"]) == 0 and n["error"] is None):
        fail(f"drift: {n}")


def metrics(path, json_file):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
    from prometheus_client.parser import text_string_to_metric_families as prom_parse
    with open(path) as f:
        text = f.read()
    st = doc(json_file, "status")
    fams = {m.name: m for m in om_parse(text)}
    for name, typ in (("virtwire_network_up", "gauge"), ("virtwire_forward_packets", "counter"),
                      ("virtwire_forward_bytes", "counter"), ("virtwire_network_receive_bytes", "counter")):
        if name not in fams or fams[name].type != typ:
            fail(f"{name}: not a {typ} family")
    prom = {s.name: s for m in prom_parse(text) for s in m.samples if s.labels.get("network")}
    if not prom:
        fail("the Prometheus text parser found no samples")
    for n in st["networks"]:
        if n["error"] is not None:
            continue
        for f in n["forwards"]:
            got = [s.value for s in fams["virtwire_forward_packets"].samples
                   if s.labels["network"] == n["name"] and s.labels["forward"] == f["name"]]
            if not got or int(got[0]) != f["packets"]:
                fail(f"forward {f['name']}: metrics {got}, status {f['packets']}")
        got = [s.value for s in fams["virtwire_network_up"].samples if s.labels["network"] == n["name"]]
        if got != [1.0 if n["up"] else 0.0]:
            fail(f"network_up {got}")


kinds = {"check": check, "plan": plan, "plan-sets": plan_sets, "status": status, "status-error": status_error,
         "status-span": status_span,
         "verify": verify, "metrics": metrics}
if len(sys.argv) < 3 or sys.argv[1] not in kinds:
    fail(__doc__)
try:
    kinds[sys.argv[1]](*sys.argv[2:])
except (KeyError, IndexError, TypeError, ValueError) as e:
    fail(f"{type(e).__name__}: {e}")
