#include "steerdns/zone/zone_diff.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "steerdns/dns/name.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/health/composite.h"
#include "steerdns/lb/policy_geo.h"
#include "steerdns/util/sockaddr.h"
#include "steerdns/zone/ldns_ptr.h"

namespace steerdns::zone {

const char* change_name(Change c) {
    switch (c) {
        case Change::added:
            return "added";
        case Change::removed:
            return "removed";
        case Change::changed:
            return "changed";
    }
    return "changed";
}

namespace {

using U128 = unsigned __int128;
using Opt = std::optional<std::string>;

void add_field(std::vector<FieldChange>& out, std::string field, const Opt& before,
               const Opt& after) {
    if (before != after) out.push_back({std::move(field), before, after});
}

// ---- records ----------------------------------------------------------------------------

// Every record of one RRset as a presentation line, rendered by ldns from the wire image the
// server answers with (so "www A 192.0.2.1" and "www.example.test. A 192.0.2.1" are equal).
std::set<std::string> record_lines(const Zone& z, const Node& n, const RRset& rs) {
    std::set<std::string> lines;
    const std::span<const uint8_t> owner = z.node_name(n);
    const uint8_t* image = z.images.data() + rs.offset;
    const uint8_t* end = image + rs.length;
    while (image + dns::kRrFixedSize <= end) {
        const size_t rdlength = (size_t{image[8]} << 8) | image[9];
        const size_t size = dns::kRrFixedSize + rdlength;
        std::vector<uint8_t> wire(owner.begin(), owner.end());
        wire.insert(wire.end(), image, image + size);
        image += size;
        ldns_rr* parsed = nullptr;
        size_t pos = 0;
        std::string line;
        if (ldns_wire2rr(&parsed, wire.data(), wire.size(), &pos, LDNS_SECTION_ANSWER) ==
            LDNS_STATUS_OK) {
            const RrPtr rr(parsed);
            char* text = ldns_rr2str(rr.get());
            if (text != nullptr) line = text;
            free(text);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
        }
        if (line.empty()) line = dns::name_to_text(owner) + " (unrenderable record)";
        // ldns separates fields by tabs and ends with a newline; one space reads better.
        std::string tidy;
        for (char c : line) {
            if (c == '\n') continue;
            tidy += c == '\t' ? ' ' : c;
        }
        lines.insert(std::move(tidy));
    }
    return lines;
}

struct RRsetKey {
    std::string owner;
    uint16_t type = 0;
    auto operator<=>(const RRsetKey&) const = default;
};

std::map<RRsetKey, std::set<std::string>> rrsets_of(const Zone& z) {
    std::map<RRsetKey, std::set<std::string>> out;
    for (const Node& n : z.nodes)
        for (const RRset& rs : z.node_rrsets(n))
            out[{dns::name_to_text(z.node_name(n)), rs.type}] = record_lines(z, n, rs);
    return out;
}

std::set<std::string> names_of(const Zone& z) {
    std::set<std::string> out;
    for (const Node& n : z.nodes)
        if (!n.empty()) out.insert(dns::name_to_text(z.node_name(n)));
    return out;
}

void diff_records(const Zone& a, const Zone& b, ZoneDiff& d) {
    const std::set<std::string> na = names_of(a);
    const std::set<std::string> nb = names_of(b);
    std::set_difference(nb.begin(), nb.end(), na.begin(), na.end(),
                        std::back_inserter(d.names_added));
    std::set_difference(na.begin(), na.end(), nb.begin(), nb.end(),
                        std::back_inserter(d.names_removed));

    const auto ra = rrsets_of(a);
    const auto rb = rrsets_of(b);
    std::set<RRsetKey> keys;
    for (const auto& [k, v] : ra) keys.insert(k);
    for (const auto& [k, v] : rb) keys.insert(k);
    static const std::set<std::string> kNone;
    for (const RRsetKey& k : keys) {
        const auto ia = ra.find(k);
        const auto ib = rb.find(k);
        const std::set<std::string>& la = ia != ra.end() ? ia->second : kNone;
        const std::set<std::string>& lb_ = ib != rb.end() ? ib->second : kNone;
        if (la == lb_) continue;
        RRsetChange c;
        c.owner = k.owner;
        c.type = dns::rr_type_text(k.type);
        c.change = ia == ra.end()   ? Change::added
                   : ib == rb.end() ? Change::removed
                                    : Change::changed;
        std::set_difference(la.begin(), la.end(), lb_.begin(), lb_.end(),
                            std::back_inserter(c.removed));
        std::set_difference(lb_.begin(), lb_.end(), la.begin(), la.end(),
                            std::back_inserter(c.added));
        d.rrsets.push_back(std::move(c));
    }
}

// ---- checks -----------------------------------------------------------------------------

std::string joined(const std::vector<std::string>& items, const char* separator = " ") {
    std::string out;
    for (const std::string& s : items) {
        if (!out.empty()) out += separator;
        out += s;
    }
    return out;
}

std::string damping_text(const health::DampingDef& d) {
    char text[160];
    std::snprintf(text, sizeof text, "half_life %s s, suppress %g, reuse %g, max_suppress %s s",
                  health::seconds_text(d.half_life_ms).c_str(), d.suppress, d.reuse,
                  health::seconds_text(d.max_suppress_ms).c_str());
    return text;
}

// A check definition as (field, value) pairs in a fixed order, only the fields its type reads.
std::vector<std::pair<std::string, std::string>> check_fields(const health::CheckDef& c) {
    std::vector<std::pair<std::string, std::string>> f;
    f.emplace_back("type", health::check_type_name(c.type));
    if (c.type == health::CheckType::none) return f;
    if (c.port != 0) f.emplace_back("port", std::to_string(c.port));
    if (c.type == health::CheckType::http || c.type == health::CheckType::https) {
        f.emplace_back("paths", joined(c.paths));
        if (!c.host.empty()) f.emplace_back("host", c.host);
        std::vector<std::string> statuses;
        for (uint16_t s : c.expect_status) statuses.push_back(std::to_string(s));
        f.emplace_back("expect_status", statuses.empty() ? "200-399" : joined(statuses));
        if (c.has_expect_body) f.emplace_back("expect_body", "\"" + c.expect_body + "\"");
        if (c.type == health::CheckType::https) f.emplace_back("verify", c.verify ? "yes" : "no");
        f.emplace_back("keepalive", c.keepalive ? "yes" : "no");
    }
    if (c.type == health::CheckType::exec) f.emplace_back("command", joined(c.command));
    f.emplace_back("interval", health::seconds_text(c.interval_ms) + " s");
    f.emplace_back("timeout", health::seconds_text(c.timeout_ms) + " s");
    f.emplace_back("rise", std::to_string(c.rise));
    f.emplace_back("fall", std::to_string(c.fall));
    if (c.damping) f.emplace_back("damping", damping_text(*c.damping));
    return f;
}

const CheckSpec* find_check(const ZoneSpec& spec, const std::string& name) {
    for (const CheckSpec& c : spec.checks)
        if (c.name.text == name) return &c;
    return nullptr;
}

// "web", or "web+api (require any)" for a composite check.
std::string check_text(const CheckRef& ref) {
    std::string out = ref.text();
    if (!ref.composite()) return out;
    out.append(" (require ");
    out.append(health::require_text(ref.required(), ref.names.size()));
    out.append(")");
    return out;
}

// The checks a pool or its members name.
std::set<std::string> checks_named(const PoolSpec& ps) {
    std::set<std::string> out;
    const auto add = [&](const std::optional<CheckRef>& ref) {
        if (!ref) return;
        for (const Located& n : ref->names) out.insert(n.text);
    };
    add(ps.check);
    for (const MemberSpec& ms : ps.members) add(ms.check());
    return out;
}

void diff_check(const std::string& name, const health::CheckDef& a, const health::CheckDef& b,
                std::vector<FieldChange>& out) {
    if (a.key() == b.key()) return;
    const auto fa = check_fields(a);
    const auto fb = check_fields(b);
    std::vector<std::string> order;  // a's fields, then b's new ones
    for (const auto& [k, v] : fa) order.push_back(k);
    for (const auto& [k, v] : fb)
        if (std::find(order.begin(), order.end(), k) == order.end()) order.push_back(k);
    auto value = [](const auto& fields, const std::string& k) -> Opt {
        for (const auto& [key, v] : fields)
            if (key == k) return v;
        return std::nullopt;
    };
    for (const std::string& k : order)
        add_field(out, "check " + name + " " + k, value(fa, k), value(fb, k));
}

// ---- pools ------------------------------------------------------------------------------

const PoolSpec* find_pool(const ZoneSpec& spec, const std::string& name) {
    for (const PoolSpec& ps : spec.pools)
        if (ps.name.text == name) return &ps;
    return nullptr;
}

std::string fallback_text(const Zone& z, const lb::Pool& p) {
    switch (p.fallback) {
        case lb::Fallback::all:
            return "all";
        case lb::Fallback::none:
            return "none";
        case lb::Fallback::pool:
            break;
    }
    if (p.fallback_pool >= 0 && static_cast<size_t>(p.fallback_pool) < z.pools.size())
        return "pool " + z.pools[static_cast<size_t>(p.fallback_pool)].name;
    return "pool";
}

// A member's settings, keyed for pairing: the canonical address, with "#2", "#3" for a second
// and third member of the same address.
struct MemberView {
    uint8_t family = 4;
    uint8_t address[16] = {};
    std::string address_text;
    std::vector<std::pair<std::string, Opt>> fields;  // enabled, ..., check, damping
};

std::map<std::string, MemberView> members_of(const lb::Pool& p, const PoolSpec* ps) {
    std::map<std::string, MemberView> out;
    for (size_t i = 0; i < p.members.size(); ++i) {
        const lb::Member& m = p.members[i];
        MemberView v;
        v.family = m.family;
        std::memcpy(v.address, m.address, sizeof v.address);
        v.address_text = util::address_text(m.family == 6 ? AF_INET6 : AF_INET, m.address);
        // Compile keeps every member of a valid zone, in file order.
        const MemberSpec* ms =
            ps != nullptr && ps->members.size() == p.members.size() ? &ps->members[i] : nullptr;
        v.fields = {
            {"enabled", m.enabled ? "true" : "false"},
            {"weight", std::to_string(m.weight)},
            {"priority", std::to_string(m.priority)},
            {"region", m.region.empty() ? Opt{} : Opt{m.region}},
            {"check", ms != nullptr && ms->check() ? Opt{check_text(*ms->check())} : Opt{}},
            {"damping", ms != nullptr && ms->damping() ? Opt{damping_text(*ms->damping())} : Opt{}},
        };
        std::string key = v.address_text;
        for (int n = 2; out.count(key) != 0; ++n) key = v.address_text + "#" + std::to_string(n);
        out.emplace(key, std::move(v));
    }
    return out;
}

bool address_less(const MemberView& a, const MemberView& b) {
    if (a.family != b.family) return a.family < b.family;
    const int c = std::memcmp(a.address, b.address, a.family == 6 ? 16 : 4);
    return c != 0 ? c < 0 : a.address_text < b.address_text;
}

void diff_members(const lb::Pool& pa, const PoolSpec* sa, const lb::Pool& pb, const PoolSpec* sb,
                  PoolChange& c) {
    const auto ma = members_of(pa, sa);
    const auto mb = members_of(pb, sb);
    std::vector<std::pair<std::string, const MemberView*>> keys;  // numeric address order
    for (const auto& [k, v] : ma) keys.emplace_back(k, &v);
    for (const auto& [k, v] : mb)
        if (ma.count(k) == 0) keys.emplace_back(k, &v);
    std::sort(keys.begin(), keys.end(), [](const auto& x, const auto& y) {
        return address_less(*x.second, *y.second) ||
               (!address_less(*y.second, *x.second) && x.first < y.first);
    });
    for (const auto& [key, view] : keys) {
        const auto ia = ma.find(key);
        const auto ib = mb.find(key);
        MemberChange m;
        m.address = key;
        if (ib == mb.end()) {
            m.change = Change::removed;
        } else if (ia == ma.end()) {
            m.change = Change::added;
            for (const auto& [field, value] : ib->second.fields) {
                // What a reader needs of a new member: its weight and priority always, the
                // rest when set.
                const bool usual = field == "enabled" && value == Opt{"true"};
                if (value && !usual) m.fields.push_back({field, std::nullopt, value});
            }
        } else {
            m.change = Change::changed;
            for (size_t i = 0; i < ia->second.fields.size(); ++i)
                add_field(m.fields, ia->second.fields[i].first, ia->second.fields[i].second,
                          ib->second.fields[i].second);
            if (m.fields.empty()) continue;
        }
        c.members.push_back(std::move(m));
    }
}

// Client regions: those a rule or the default puts clients in.
std::set<std::string> client_regions(const ZoneSpec& spec) {
    std::set<std::string> out;
    if (!spec.geo) return out;
    for (const GeoRuleSpec& r : spec.geo->rules) out.insert(r.region.text);
    out.insert(spec.geo->default_region.text);
    return out;
}

std::optional<std::vector<std::string>> preference_list(const Zone& z, const ZoneSpec& spec,
                                                        const lb::Pool& p,
                                                        const std::string& region) {
    if (p.policy != lb::Policy::geo || client_regions(spec).count(region) == 0 || !z.geo)
        return std::nullopt;
    const std::vector<std::string>& names = z.geo->region_names;  // regions need a geo section
    const auto it = std::find(names.begin(), names.end(), region);
    if (it == names.end()) return std::nullopt;
    const auto id = static_cast<uint16_t>(it - names.begin());
    if (id >= p.regions.region_count()) return std::nullopt;
    std::vector<std::string> out;
    for (uint16_t r : p.regions.order(id))
        out.push_back(r < names.size() ? names[r] : std::to_string(r));
    return out;
}

void diff_region_lists(const ZoneVersion& a, const lb::Pool& pa, const ZoneVersion& b,
                       const lb::Pool& pb, PoolChange& c) {
    if (pa.policy != lb::Policy::geo && pb.policy != lb::Policy::geo) return;
    std::set<std::string> regions = client_regions(*a.spec);
    for (const std::string& r : client_regions(*b.spec)) regions.insert(r);
    for (const std::string& r : regions) {
        auto before = preference_list(*a.zone, *a.spec, pa, r);
        auto after = preference_list(*b.zone, *b.spec, pb, r);
        if (before != after) c.regions.push_back({r, std::move(before), std::move(after)});
    }
}

std::vector<FieldChange> pool_settings(const Zone& z, const lb::Pool& p, const PoolSpec* ps) {
    return {
        {"policy", std::nullopt, lb::policy_name(p.policy)},
        {"ttl", std::nullopt, std::to_string(p.ttl)},
        {"ttl_degraded", std::nullopt,
         p.ttl_degraded != p.ttl ? Opt{std::to_string(p.ttl_degraded)} : Opt{}},
        {"answers", std::nullopt, p.answers == 0 ? "all" : std::to_string(p.answers)},
        {"fallback", std::nullopt, fallback_text(z, p)},
        {"check", std::nullopt, ps != nullptr && ps->check ? Opt{check_text(*ps->check)} : Opt{}},
        {"failback", std::nullopt,
         ps != nullptr && ps->failback && ps->failback->mode != health::FailbackMode::immediate
             ? Opt{health::failback_text(*ps->failback)}
             : Opt{}},
    };
}

void diff_pools(const ZoneVersion& a, const ZoneVersion& b, ZoneDiff& d) {
    std::map<std::string, const lb::Pool*> pa;
    std::map<std::string, const lb::Pool*> pb;
    for (const lb::Pool& p : a.zone->pools) pa.emplace(p.name, &p);
    for (const lb::Pool& p : b.zone->pools) pb.emplace(p.name, &p);
    std::set<std::string> names;
    for (const auto& [n, p] : pa) names.insert(n);
    for (const auto& [n, p] : pb) names.insert(n);
    for (const std::string& name : names) {
        const auto ia = pa.find(name);
        const auto ib = pb.find(name);
        PoolChange c;
        c.name = name;
        if (ib == pb.end()) {
            c.change = Change::removed;
            d.pools.push_back(std::move(c));
            continue;
        }
        const lb::Pool& nb = *ib->second;
        const PoolSpec* sb = find_pool(*b.spec, name);
        if (ia == pa.end()) {
            c.change = Change::added;
            for (FieldChange& f : pool_settings(*b.zone, nb, sb))
                if (f.after) c.fields.push_back(std::move(f));
            c.fields.push_back({"members", std::nullopt, std::to_string(nb.members.size())});
            d.pools.push_back(std::move(c));
            continue;
        }
        const lb::Pool& na = *ia->second;
        const PoolSpec* sa = find_pool(*a.spec, name);
        const auto before = pool_settings(*a.zone, na, sa);
        const auto after = pool_settings(*b.zone, nb, sb);
        for (size_t i = 0; i < before.size(); ++i)
            add_field(c.fields, before[i].field, before[i].after, after[i].after);
        diff_members(na, sa, nb, sb, c);
        if (sa != nullptr && sb != nullptr) {
            std::set<std::string> checks = checks_named(*sa);
            const std::set<std::string> named_b = checks_named(*sb);
            checks.insert(named_b.begin(), named_b.end());
            for (const std::string& check : checks) {
                const CheckSpec* ca = find_check(*a.spec, check);
                const CheckSpec* cb = find_check(*b.spec, check);
                if (ca != nullptr && cb != nullptr) diff_check(check, ca->def, cb->def, c.checks);
            }
        }
        diff_region_lists(a, na, b, nb, c);
        if (c.fields.empty() && c.members.empty() && c.checks.empty() && c.regions.empty())
            continue;
        d.pools.push_back(std::move(c));
    }
}

// ---- geo --------------------------------------------------------------------------------

bool has_location_rules(const GeoSpec& g) {
    for (const GeoRuleSpec& r : g.rules)
        if (r.country || r.continent) return true;
    return false;
}

GeoNets geo_nets(const ZoneSpec& spec) {
    GeoNets out;
    if (!spec.geo) {
        out.uncovered = kNoGeo;
        return out;
    }
    const GeoSpec& g = *spec.geo;
    std::map<std::string, uint16_t> ids;
    for (const GeoRuleSpec& r : g.rules) {
        if (!r.net) continue;
        lb::NetRule rule;
        std::string error;
        if (!lb::parse_cidr(r.net->text, rule.net, error)) continue;  // compile rejected it
        const auto [it, fresh] = ids.emplace(r.region.text, ids.size());
        if (fresh) out.region_names.push_back(r.region.text);
        rule.region = it->second;
        out.rules.push_back(rule);
    }
    out.uncovered =
        g.database && has_location_rules(g) ? std::string(kByDatabase) : g.default_region.text;
    return out;
}

void diff_geo_settings(const ZoneSpec& a, const ZoneSpec& b, ZoneDiff& d) {
    auto settings = [](const ZoneSpec& s) {
        std::map<std::string, std::string> out;
        if (!s.geo) return out;
        out["default"] = s.geo->default_region.text;
        if (s.geo->database) out["database"] = s.geo->database->text;
        for (const GeoRuleSpec& r : s.geo->rules) {
            if (r.country) out["country " + r.country->text] = r.region.text;
            if (r.continent) out["continent " + r.continent->text] = r.region.text;
        }
        return out;
    };
    const auto sa = settings(a);
    const auto sb = settings(b);
    std::set<std::string> keys;
    for (const auto& [k, v] : sa) keys.insert(k);
    for (const auto& [k, v] : sb) keys.insert(k);
    // "default" and "database" first, then the rules by code.
    std::vector<std::string> order;
    for (const char* k : {"default", "database"})
        if (keys.erase(k) != 0) order.emplace_back(k);
    order.insert(order.end(), keys.begin(), keys.end());
    for (const std::string& k : order) {
        const auto ia = sa.find(k);
        const auto ib = sb.find(k);
        add_field(d.geo, k, ia != sa.end() ? Opt{ia->second} : Opt{},
                  ib != sb.end() ? Opt{ib->second} : Opt{});
    }
}

template <class Key>
Key host_mask(uint8_t prefix, int bits) {
    return prefix >= bits ? Key{0} : static_cast<Key>(~Key{0} >> (128 - bits)) >> prefix;
}

U128 key_of(const lb::Cidr& net) {
    U128 k = 0;
    for (int i = 0; i < (net.family == 6 ? 16 : 4); ++i) k = (k << 8) | net.address[i];
    return k;
}

lb::Cidr cidr_of(uint8_t family, U128 key, uint8_t prefix) {
    lb::Cidr c;
    c.family = family;
    c.prefix = prefix;
    const int bytes = family == 6 ? 16 : 4;
    for (int i = bytes - 1; i >= 0; --i) {
        c.address[i] = static_cast<uint8_t>(key);
        key >>= 8;
    }
    return c;
}

struct Labeller {
    const GeoNets& side;
    lb::GeoMap map;

    explicit Labeller(const GeoNets& s) : side(s), map(lb::GeoMap::build(s.rules).map) {}
    const std::string& label(uint8_t family, U128 key) const {
        const lb::Cidr at = cidr_of(family, key, family == 6 ? 128 : 32);
        const lb::NetMatch m = map.lookup(family, at.address);
        return m.region < side.region_names.size() ? side.region_names[m.region] : side.uncovered;
    }
};

// [first, last] as the fewest aligned blocks: at each step the largest block that starts at
// `first` (aligned to it) and does not run past `last`.
void split_into_cidrs(uint8_t family, U128 first, U128 last, const std::string& before,
                      const std::string& after, std::vector<NetChange>& out) {
    const int bits = family == 6 ? 128 : 32;
    const U128 top = bits == 128 ? ~U128{0} : (U128{1} << bits) - 1;
    for (;;) {
        int size_bits = 0;  // the block holds 2^size_bits addresses
        while (size_bits < bits) {
            const int next = size_bits + 1;
            const U128 mask = next == 128 ? ~U128{0} : (U128{1} << next) - 1;
            if ((first & mask) != 0) break;                // not aligned to a block that large
            if (next < 128 && last - first < mask) break;  // would run past last
            if (next == 128 && !(first == 0 && last == top)) break;
            size_bits = next;
        }
        out.push_back(
            {cidr_of(family, first, static_cast<uint8_t>(bits - size_bits)), before, after});
        const U128 block_last = size_bits == 128 ? ~U128{0} : first + ((U128{1} << size_bits) - 1);
        if (block_last >= last) return;
        first = block_last + 1;
    }
}

void diff_family(uint8_t family, const Labeller& a, const Labeller& b,
                 std::vector<NetChange>& out) {
    const int bits = family == 6 ? 128 : 32;
    const U128 top = bits == 128 ? ~U128{0} : (U128{1} << bits) - 1;
    // Both maps are constant between consecutive edges of any rule of either side.
    std::vector<U128> edges{0};
    for (const GeoNets* side : {&a.side, &b.side}) {
        for (const lb::NetRule& r : side->rules) {
            if (r.net.family != family) continue;
            const U128 mask = host_mask<U128>(r.net.prefix, bits);
            const U128 first = key_of(r.net) & ~mask;
            edges.push_back(first);
            if ((first | mask) != top) edges.push_back((first | mask) + 1);
        }
    }
    std::sort(edges.begin(), edges.end());
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    struct Run {
        U128 first;
        U128 last;
        const std::string* before;
        const std::string* after;
    };
    std::vector<Run> runs;
    for (size_t i = 0; i < edges.size(); ++i) {
        const U128 first = edges[i];
        const U128 last = i + 1 < edges.size() ? edges[i + 1] - 1 : top;
        const std::string& before = a.label(family, first);
        const std::string& after = b.label(family, first);
        if (before == after) continue;
        if (!runs.empty() && runs.back().last + 1 == first && *runs.back().before == before &&
            *runs.back().after == after) {
            runs.back().last = last;
        } else {
            runs.push_back({first, last, &before, &after});
        }
    }
    for (const Run& r : runs) split_into_cidrs(family, r.first, r.last, *r.before, *r.after, out);
}

}  // namespace

std::vector<NetChange> diff_geo_nets(const GeoNets& before, const GeoNets& after) {
    const Labeller a(before);
    const Labeller b(after);
    std::vector<NetChange> out;
    diff_family(4, a, b, out);
    diff_family(6, a, b, out);
    return out;
}

ZoneDiff diff_zones(const ZoneVersion& before, const ZoneVersion& after) {
    ZoneDiff d;
    d.apex = after.zone->apex_text();
    diff_records(*before.zone, *after.zone, d);
    diff_pools(before, after, d);
    diff_geo_settings(*before.spec, *after.spec, d);
    d.nets = diff_geo_nets(geo_nets(*before.spec), geo_nets(*after.spec));
    return d;
}

}  // namespace steerdns::zone
