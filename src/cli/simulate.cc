#include "steerdns/cli/simulate.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "steerdns/answer/snapshot.h"
#include "steerdns/dns/name.h"
#include "steerdns/dns/query.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/health/health_table.h"
#include "steerdns/lb/client_net.h"
#include "steerdns/lb/eligible.h"
#include "steerdns/lb/policy.h"
#include "steerdns/lb/rng.h"
#include "steerdns/server/zone_dir.h"
#include "steerdns/util/file.h"
#include "steerdns/util/sockaddr.h"
#include "steerdns/zone/compile.h"
#include "steerdns/zone/drain_set.h"
#include "steerdns/zone/ldns_ptr.h"

namespace steerdns::cli {

namespace {

// The simulator probes nothing: members start up, and a family holding a member forced down
// gets these two slots of its own health table instead of the registry's.
constexpr uint32_t kSlotUp = 0;
constexpr uint32_t kSlotDown = 1;

// The resolver --ecs queries come from (TEST-NET-3): with ECS the policies look at the
// option, never at this address.
constexpr uint8_t kResolverV4[4] = {203, 0, 113, 53};

// What public resolvers send as ECS source prefixes (and what hash keys on without ECS): the
// per-network table groups clients at this length too.
constexpr uint8_t kNetPrefixV4 = lb::kHashPrefixV4;
constexpr uint8_t kNetPrefixV6 = lb::kHashPrefixV6;

// select_with_fallback's own bound on fallback hops, for the configured shares' walk.
constexpr int kMaxFallbackHops = 8;

bool name_to_wire(const std::string& text, std::vector<uint8_t>& out, std::string& error) {
    std::string absolute = text;
    if (absolute.empty() || absolute.back() != '.') absolute += '.';
    zone::RdfPtr rdf(ldns_dname_new_frm_str(absolute.c_str()));
    if (!rdf) {
        error = "\"" + text + "\" is not a domain name";
        return false;
    }
    const uint8_t* data = ldns_rdf_data(rdf.get());
    out.assign(data, data + ldns_rdf_size(rdf.get()));
    // Length bytes are below 64, so lowering every byte lowers the labels only.
    for (uint8_t& b : out) b = static_cast<uint8_t>(std::tolower(b));
    return true;
}

// Canonical addresses of --down or --drain; false when one is not an address.
bool canonical_set(const std::vector<std::string>& addresses, const char* flag,
                   std::set<std::string>& out, std::string& error) {
    for (const std::string& a : addresses) {
        const std::string c = zone::canonical_address(a);
        if (c.empty()) {
            error = std::string(flag) + " " + a + ": not an IPv4 or IPv6 address";
            return false;
        }
        out.insert(c);
    }
    return true;
}

// Every zone under `paths`, compiled as the server would with the drained members left out
// ("enabled": false, as zone_dir does for POST /drain). A file that does not load is left
// out with its errors in `warnings`, as the server serves the others.
bool load_zones(const std::vector<std::string>& paths, const std::set<std::string>& drained,
                std::set<std::string>& drain_found, std::vector<zone::ZonePtr>& zones,
                std::vector<std::string>& warnings, std::string& error) {
    std::map<std::string, std::string> apex_file;
    for (const std::string& p : paths) {
        const std::vector<std::string> files = server::zone_files(p, error);
        if (!error.empty()) return false;
        if (files.empty()) {
            error = p + ": no *.json zone files";
            return false;
        }
        for (const std::string& f : files) {
            zone::LoadResult loaded = zone::load_zone_file(f);
            zone::CompileResult r;
            if (loaded.ok()) {
                for (zone::PoolSpec& ps : loaded.spec.pools) {
                    for (zone::MemberSpec& ms : ps.members) {
                        const std::string a = zone::canonical_address(ms.address.text);
                        if (drained.count(a) == 0) continue;
                        ms.enabled = false;
                        drain_found.insert(a);
                    }
                }
                r = zone::compile_zone(loaded.spec);
            } else {
                r.diags = std::move(loaded.diags);
            }
            if (!r.zone) {
                for (const zone::Diagnostic& d : r.diags)
                    if (d.is_error()) warnings.push_back(d.to_string());
                warnings.push_back(f + ": left out: it does not load (see steerdns check)");
                continue;
            }
            const std::string apex = r.zone->apex_text();
            auto [it, fresh] = apex_file.emplace(apex, f);
            if (!fresh) {
                error = f + ": zone " + apex + " is also defined in " + it->second;
                return false;
            }
            zones.push_back(std::move(r.zone));
        }
    }
    return true;
}

// Gives every family holding a member forced down the simulator's two slots. The zones were
// compiled for this run alone (no snapshot, no worker sees them) and Zone objects are never
// created const, so writing through the const pointer is sound.
void force_down(const std::vector<zone::ZonePtr>& zones, const std::set<std::string>& down,
                std::set<std::string>& down_found) {
    for (const zone::ZonePtr& zp : zones) {
        zone::Zone& z = const_cast<zone::Zone&>(*zp);
        for (lb::Pool& pool : z.pools) {
            // Drained members too: down and drained at once is still a member.
            for (const lb::Member& m : pool.members) {
                const std::string a = zone::canonical_address(m.address_text);
                if (down.count(a) != 0) down_found.insert(a);
            }
            for (lb::FamilySet* fs : {&pool.v4, &pool.v6}) {
                bool any = false;
                for (size_t i = 0; i < fs->size(); ++i) {
                    const std::string a =
                        zone::canonical_address(pool.members[fs->members[i]].address_text);
                    any |= down.count(a) != 0;
                }
                if (!any) continue;
                for (size_t i = 0; i < fs->size(); ++i) {
                    const std::string a =
                        zone::canonical_address(pool.members[fs->members[i]].address_text);
                    fs->slots[i] = down.count(a) != 0 ? kSlotDown : kSlotUp;
                }
                fs->probed = true;
            }
        }
    }
}

// The pool answering `name`, or why there is none (the name is not balanced).
bool find_pool(const Snapshot& snap, const std::vector<uint8_t>& wire, const std::string& name,
               uint16_t rrtype, const zone::Zone*& zone_out, size_t& pool_index,
               std::string& error) {
    const Lookup lk = snap.find(wire);
    if (lk.kind == Lookup::refused) {
        error = name + " is in none of the zones loaded";
        return false;
    }
    const zone::Zone& z = *lk.found.zone;
    if (lk.kind == Lookup::nxdomain) {
        error = name + " does not exist in zone " + z.apex_text() + " (NXDOMAIN)";
        return false;
    }
    const zone::Node& n = *lk.found.node;
    if (n.flags & (zone::node_flag::delegation | zone::node_flag::occluded)) {
        error = name + " is delegated away from zone " + z.apex_text() + " (a referral)";
        return false;
    }
    if (const zone::RRset* cname = z.find_rrset(n, dns::type::CNAME)) {
        const uint8_t* rdata = z.images.data() + cname->offset + dns::kRrFixedSize;
        const size_t len = cname->length - dns::kRrFixedSize;
        error = name + " is a CNAME to " + dns::name_to_text({rdata, len}) + ": simulate that name";
        return false;
    }
    const std::string type = dns::rr_type_text(rrtype);
    if (n.pool < 0) {
        error = z.find_rrset(n, rrtype) != nullptr
                    ? name + " has static " + type + " records, not a pool: nothing to balance"
                    : name + " has no pool and no " + type + " records (NODATA)";
        return false;
    }
    const lb::Pool& pool = z.pools[static_cast<size_t>(n.pool)];
    const uint8_t family = rrtype == dns::type::AAAA ? 6 : 4;
    const bool has_family =
        std::any_of(pool.members.begin(), pool.members.end(),
                    [family](const lb::Member& m) { return m.family == family; });
    if (!has_family) {
        error = name + ": pool " + pool.name + " has no IPv" + std::to_string(family) +
                " member, so every " + type + " answer is NODATA";
        return false;
    }
    zone_out = &z;
    pool_index = static_cast<size_t>(n.pool);
    return true;
}

// Row of the report per (pool, member): the queried pool's members first, in file order;
// members of fallback pools as they first answer.
class Rows {
  public:
    Rows(const zone::Zone& z, std::vector<MemberShare>& out) : zone_(z), out_(out) {
        index_.resize(z.pools.size());
        for (size_t p = 0; p < z.pools.size(); ++p) index_[p].assign(z.pools[p].members.size(), -1);
    }
    size_t at(size_t pool, uint32_t member) {
        int64_t& r = index_[pool][member];
        if (r < 0) {
            const lb::Pool& p = zone_.pools[pool];
            MemberShare s;
            s.address = p.members[member].address_text;
            s.pool = p.name;
            r = static_cast<int64_t>(out_.size());
            out_.push_back(std::move(s));
        }
        return static_cast<size_t>(r);
    }

  private:
    const zone::Zone& zone_;
    std::vector<MemberShare>& out_;
    std::vector<std::vector<int64_t>> index_;
};

// The first-position share the policy means each member of `positions` to get, or false when
// it picks none of them (weighted: all of weight 0).
bool intended(const lb::Pool& pool, const lb::FamilySet& fs, std::span<const uint32_t> positions,
              std::map<uint32_t, double>& share) {
    if (positions.empty()) return false;
    const lb::MemberTable& t = fs.table;
    switch (pool.policy) {
        case lb::Policy::weighted: {
            uint64_t sum = 0;
            for (uint32_t p : positions) sum += t.weight[p];
            if (sum == 0) return false;
            for (uint32_t p : positions)
                share[fs.members[p]] = static_cast<double>(t.weight[p]) / static_cast<double>(sum);
            return true;
        }
        case lb::Policy::failover: {
            int32_t best = INT32_MIN;
            for (uint32_t p : positions) best = std::max(best, t.priority[p]);
            size_t k = 0;
            for (uint32_t p : positions) k += t.priority[p] == best ? 1 : 0;
            for (uint32_t p : positions)
                if (t.priority[p] == best) share[fs.members[p]] = 1.0 / static_cast<double>(k);
            return true;
        }
        default:  // round-robin, all: a rotation, each first in turn
            for (uint32_t p : positions)
                share[fs.members[p]] = 1.0 / static_cast<double>(positions.size());
            return true;
    }
}

// "configured": the same walk as select_with_fallback, but over shares instead of one draw.
// False when the answer depends on the client (hash, geo): the report prints "-".
bool configured_shares(const zone::Zone& z, size_t index, uint16_t rrtype,
                       const health::HealthTable* health, Rows& rows,
                       std::vector<MemberShare>& members, double& nodata) {
    lb::Eligible eligible;
    nodata = 0;
    for (int hop = 0; hop <= kMaxFallbackHops; ++hop) {
        const lb::Pool& pool = z.pools[index];
        const lb::FamilySet& fs = pool.family(rrtype);
        if (fs.size() == 0) {
            nodata = 1;
            return true;
        }
        if (pool.policy == lb::Policy::hash || pool.policy == lb::Policy::geo) return false;
        eligible.compute(fs, health);
        std::map<uint32_t, double> share;
        bool picked = intended(pool, fs, eligible.positions(), share);
        if (!picked) {
            if (pool.fallback == lb::Fallback::pool && pool.fallback_pool >= 0) {
                index = static_cast<size_t>(pool.fallback_pool);
                continue;
            }
            if (pool.fallback == lb::Fallback::none) {
                nodata = 1;
                return true;
            }
            eligible.set_all(fs);
            picked = intended(pool, fs, eligible.positions(), share);
            if (!picked) {  // weight 0 everywhere: select_with_fallback rotates
                lb::Pool as_rotation;
                intended(as_rotation, fs, eligible.positions(), share);
            }
        }
        for (const auto& [member, s] : share) members[rows.at(index, member)].configured = s;
        return true;
    }
    return false;
}

using NetKey = std::array<uint8_t, 18>;  // family, prefix, address

struct NetStat {
    uint64_t queries = 0;
    // Answers by the rows they hold, ascending (empty: NODATA): the set, not the order, so a
    // rotation does not split one answer into several.
    std::map<std::vector<uint32_t>, uint64_t> answers;
};

std::string net_text(const NetKey& k) {
    return util::address_text(k[0], k.data() + 2) + "/" + std::to_string(k[1]);
}

std::string percent(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %%", fraction * 100.0);
    return buf;
}

std::string pad(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

// --clients and --clients-file together; 0.0.0.0/0 when neither gives any.
bool client_sources(const SimulateOptions& o, std::vector<ClientSource>& out, std::string& error) {
    out = o.clients;
    if (!o.clients_file.empty()) {
        std::string text;
        std::vector<ClientSource> listed;
        constexpr uint64_t kMaxClientsFile = uint64_t{64} << 20;
        if (util::read_file(o.clients_file, text, error, kMaxClientsFile) &&
            text.size() > kMaxClientsFile)
            error = "larger than 64 MiB";
        if (!error.empty() || !parse_clients_file(text, listed, error)) {
            error = o.clients_file + ": " + error;
            return false;
        }
        out.insert(out.end(), listed.begin(), listed.end());
    }
    if (out.empty()) out.push_back(ClientSource{});  // 0.0.0.0/0: the IPv4 Internet, evenly
    return true;
}

// The query loop: one lb::Client per query, as the server builds it from the source address
// or the ECS option, then the server's selection; counts go to the report's rows and, when
// `networks` is given, to the client's network.
void run_queries(const SimulateOptions& o, const zone::Zone& z, size_t index,
                 const health::HealthTable* health, std::vector<ClientSource> sources, Rows& rows,
                 SimulateReport& report, std::map<NetKey, NetStat>* networks) {
    ClientSpread spread(std::move(sources));
    lb::Rng rng(o.seed);
    lb::Eligible scratch;
    lb::Selection sel;
    dns::ClientSubnet ecs;
    std::vector<uint32_t> answer_rows;  // of one query, for the per-network table
    for (uint64_t q = 0; q < o.queries; ++q) {
        uint8_t client_family = 4;
        uint8_t address[16] = {};
        size_t source = 0;
        spread.next(client_family, address, source);
        lb::ClientNet net;
        net.family = client_family;
        std::memcpy(net.address, address, sizeof address);
        lb::Client client;
        if (o.ecs) {
            // A resolver sends /24 or /56 of its client, or the network given when narrower.
            const uint8_t usual = client_family == 6 ? kNetPrefixV6 : kNetPrefixV4;
            lb::truncate(net, std::max(usual, spread.sources()[source].net.prefix));
            ecs = dns::ClientSubnet{};
            ecs.present = true;
            ecs.family = client_family == 6 ? 2 : 1;
            ecs.source_prefix = net.prefix;
            std::memcpy(ecs.address, net.address, sizeof ecs.address);
            client.family = 4;
            std::memcpy(client.address, kResolverV4, sizeof kResolverV4);
            client.ecs = &ecs;
        } else {
            client.family = client_family;
            std::memcpy(client.address, address, sizeof address);
            lb::truncate(net, client_family == 6 ? kNetPrefixV6 : kNetPrefixV4);
        }

        const lb::Choice c =
            lb::select_with_fallback(z.pools, index, o.rrtype, health, client, rng, scratch, sel);
        report.fallback += c.fallback ? 1 : 0;
        answer_rows.clear();
        if (c.kind == lb::Choice::answer && sel.count > 0) {
            const size_t answering = static_cast<size_t>(c.pool - z.pools.data());
            const lb::FamilySet& fs = c.pool->family(o.rrtype);
            for (uint32_t i = 0; i < sel.count; ++i) {
                const size_t row = rows.at(answering, fs.members[sel.position(i)]);
                ++report.members[row].answered;
                if (i == 0) ++report.members[row].first;
                answer_rows.push_back(static_cast<uint32_t>(row));
            }
        } else {
            ++report.nodata;
        }
        if (networks != nullptr) {
            NetKey key{};
            key[0] = net.family;
            key[1] = net.prefix;
            std::memcpy(key.data() + 2, net.address, 16);
            auto it = networks->find(key);
            if (it == networks->end()) {
                if (networks->size() >= o.max_networks) {
                    ++report.untallied;
                    continue;
                }
                it = networks->emplace(key, NetStat{}).first;
            }
            NetStat& st = it->second;
            ++st.queries;
            std::sort(answer_rows.begin(), answer_rows.end());
            ++st.answers[answer_rows];
        }
    }
}

// The `limit` networks with the most queries (ties in address order), each with its answers,
// most frequent first.
void top_networks(const std::map<NetKey, NetStat>& networks, size_t limit, SimulateReport& report) {
    report.network_count = networks.size();
    std::vector<std::pair<const NetKey*, const NetStat*>> order;
    for (const auto& [k, st] : networks) order.emplace_back(&k, &st);
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return a.second->queries > b.second->queries;
    });
    for (size_t i = 0; i < order.size() && i < limit; ++i) {
        NetworkShare ns;
        ns.network = net_text(*order[i].first);
        ns.queries = order[i].second->queries;
        for (const auto& [answer, n] : order[i].second->answers) {
            std::string text = answer.empty() ? "NODATA" : "";
            for (uint32_t row : answer)
                text += (text.empty() ? "" : " ") + report.members[row].address;
            ns.answers.emplace_back(std::move(text), n);
        }
        std::stable_sort(ns.answers.begin(), ns.answers.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        report.networks.push_back(std::move(ns));
    }
}

}  // namespace

bool simulate(const SimulateOptions& o, SimulateReport& report, std::string& error) {
    report = SimulateReport{};
    if (o.rrtype != dns::type::A && o.rrtype != dns::type::AAAA) {
        error = "--type must be A or AAAA";
        return false;
    }
    if (o.queries == 0) {
        error = "--queries must be at least 1";
        return false;
    }
    std::vector<uint8_t> wire;
    if (!name_to_wire(o.name, wire, error)) return false;
    std::set<std::string> down;
    std::set<std::string> drained;
    if (!canonical_set(o.down, "--down", down, error) ||
        !canonical_set(o.drain, "--drain", drained, error))
        return false;
    std::vector<ClientSource> sources;
    if (!client_sources(o, sources, error)) return false;

    std::vector<zone::ZonePtr> zones;
    std::set<std::string> drain_found;
    if (!load_zones(o.paths, drained, drain_found, zones, report.warnings, error)) return false;
    std::set<std::string> down_found;
    force_down(zones, down, down_found);
    for (const auto& [flag, asked, found] : {std::tuple{"--down", &down, &down_found},
                                             std::tuple{"--drain", &drained, &drain_found}}) {
        for (const std::string& a : *asked) {
            if (found->count(a) == 0) {
                error = std::string(flag) + " " + a + ": no member of the zones loaded has it";
                return false;
            }
        }
    }
    auto health = std::make_shared<health::HealthTable>(2);
    health->set(kSlotUp, health::State::unknown);  // what a fresh start reads: up
    health->set(kSlotDown, health::State::down);
    const Snapshot snap(zones, 0, health);

    report.name = dns::name_to_text(wire);
    const zone::Zone* zp = nullptr;
    size_t index = 0;
    if (!find_pool(snap, wire, report.name, o.rrtype, zp, index, error)) {
        if (!report.warnings.empty())
            error += " (" + std::to_string(report.warnings.size()) +
                     " lines about zone files left out above)";
        return false;
    }
    const zone::Zone& z = *zp;
    const lb::Pool& pool = z.pools[index];
    report.zone = z.apex_text();
    report.pool = pool.name;
    report.policy = pool.policy;
    report.rrtype = o.rrtype;
    report.answers = pool.answers;
    report.queries = o.queries;

    // The queried pool's rows first, every member of the family, in file order.
    Rows rows(z, report.members);
    const uint8_t family = o.rrtype == dns::type::AAAA ? 6 : 4;
    for (uint32_t m = 0; m < pool.members.size(); ++m) {
        const lb::Member& member = pool.members[m];
        if (member.family != family) continue;
        MemberShare& s = report.members[rows.at(index, m)];
        const std::string a = zone::canonical_address(member.address_text);
        if (drained.count(a) != 0) {
            s.note = "drained";
        } else if (!member.enabled) {
            s.note = "disabled";
        } else if (down.count(a) != 0) {
            s.note = "down";
        }
    }
    double nodata_configured = 0;
    const bool has_configured = configured_shares(z, index, o.rrtype, snap.health(), rows,
                                                  report.members, nodata_configured);

    const bool per_network =
        o.by_network || pool.policy == lb::Policy::hash || pool.policy == lb::Policy::geo;
    std::map<NetKey, NetStat> networks;
    run_queries(o, z, index, snap.health(), std::move(sources), rows, report,
                per_network ? &networks : nullptr);

    for (MemberShare& s : report.members) {
        if (s.pool != pool.name && s.note.empty()) s.note = "fallback pool " + s.pool;
        if (has_configured && !s.configured) s.configured = 0.0;
    }
    if (has_configured) report.nodata_configured = nodata_configured;
    top_networks(networks, o.networks, report);
    return true;
}

void print_report(const SimulateReport& r, std::ostream& out) {
    const double n = static_cast<double>(r.queries);
    out << r.name << " " << dns::rr_type_text(r.rrtype) << ": pool " << r.pool << " of zone "
        << r.zone << ", " << lb::policy_name(r.policy) << ", ";
    // Without "answers", hash answers with one member (client affinity), the others with
    // every member they pick.
    if (r.answers == 1 || (r.answers == 0 && r.policy == lb::Policy::hash)) {
        out << "1 member per answer";
    } else if (r.answers == 0) {
        out << "every member picked in each answer";
    } else {
        out << "up to " << r.answers << " members per answer";
    }
    out << "; " << r.queries << (r.queries == 1 ? " query\n" : " queries\n");
    size_t width = 16;
    for (const MemberShare& s : r.members) width = std::max(width, s.address.size() + 2);
    out << pad("member", width) << pad("configured", 12) << pad("answered", 10) << "first\n";
    for (const MemberShare& s : r.members) {
        std::string line = pad(s.address, width) +
                           pad(s.configured ? percent(*s.configured) : "-", 12) +
                           pad(percent(static_cast<double>(s.answered) / n), 10);
        const std::string first = percent(static_cast<double>(s.first) / n);
        line += s.note.empty() ? first : pad(first, 10) + s.note;
        out << line << "\n";
    }
    if (r.nodata > 0 || r.nodata_configured.value_or(0) > 0) {
        out << pad("NODATA", width)
            << pad(r.nodata_configured ? percent(*r.nodata_configured) : "-", 12)
            << percent(static_cast<double>(r.nodata) / n) << "\n";
    }
    if (r.fallback > 0)
        out << "fallback: " << percent(static_cast<double>(r.fallback) / n)
            << " of the queries found no member of pool " << r.pool << " up\n";
    if (r.networks.empty()) return;
    out << "\nby client network (" << r.network_count
        << (r.network_count == 1 ? " network" : " networks");
    if (r.network_count > r.networks.size())
        out << ", the " << r.networks.size() << " with the most queries";
    if (r.untallied > 0)
        out << "; " << r.untallied << " queries from further networks are left out of this table";
    out << "): the answers their queries got\n";
    size_t net_width = 20;
    for (const NetworkShare& ns : r.networks)
        net_width = std::max(net_width, ns.network.size() + 2);
    out << pad("network", net_width) << pad("queries", 9) << "answer\n";
    for (const NetworkShare& ns : r.networks) {
        std::string line = pad(ns.network, net_width) + pad(std::to_string(ns.queries), 9);
        const size_t shown = std::min<size_t>(ns.answers.size(), 3);
        for (size_t i = 0; i < shown; ++i) {
            if (i > 0) line += ", ";
            line += ns.answers[i].first + " " +
                    percent(static_cast<double>(ns.answers[i].second) /
                            static_cast<double>(ns.queries));
        }
        if (ns.answers.size() > shown) line += ", ...";
        out << line << "\n";
    }
}

int run_simulate(const SimulateOptions& options, std::ostream& out, std::ostream& err) {
    SimulateReport report;
    std::string error;
    const bool ok = simulate(options, report, error);
    for (const std::string& w : report.warnings) err << w << "\n";
    if (!ok) {
        err << "steerdns simulate: " << error << "\n";
        return 1;
    }
    print_report(report, out);
    return 0;
}

}  // namespace steerdns::cli
