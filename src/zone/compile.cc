#include "steerdns/zone/compile.h"

#include <arpa/inet.h>
#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "steerdns/dns/name.h"
#include "steerdns/dns/rr_type.h"
#include "steerdns/dns/wire.h"
#include "steerdns/lb/geo_map.h"
#include "steerdns/lb/geoip.h"
#include "steerdns/lb/policy_geo.h"
#include "steerdns/zone/failover.h"
#include "steerdns/zone/json_positions.h"
#include "steerdns/zone/ldns_ptr.h"
#include "steerdns/zone/signing.h"

namespace steerdns::zone {
namespace {

using Wire = std::string;  // lowercased wire name as a map key

Wire to_wire(const ldns_rdf* name) {
    return Wire(reinterpret_cast<const char*>(ldns_rdf_data(name)), ldns_rdf_size(name));
}

std::span<const uint8_t> as_span(const Wire& w) {
    return {reinterpret_cast<const uint8_t*>(w.data()), w.size()};
}

std::string text(const Wire& w) {
    return dns::name_to_text(as_span(w));
}

std::string where(const SourcePos& p) {
    return "line " + std::to_string(p.line) + ":" + std::to_string(p.col);
}

// One parsed record, before grouping into rrsets.
struct Record {
    Wire owner;
    uint16_t type = 0;
    uint32_t ttl = 0;
    std::string rdata;
    SourcePos pos;
};

// A health-checked pool answers for a member only while it is up, but resolvers keep an
// answer for its TTL: above this (inherited from the zone), `check` warns.
constexpr uint32_t kProbedTtlWarnAbove = 300;

// "an hour", "2 hours", "5 minutes", "90 seconds".
std::string for_how_long(uint32_t seconds) {
    const auto count = [](uint32_t n, const char* one, const char* many) {
        return n == 1 ? std::string(one) : std::to_string(n) + " " + many;
    };
    if (seconds % 3600 == 0) return count(seconds / 3600, "an hour", "hours");
    if (seconds % 60 == 0) return count(seconds / 60, "a minute", "minutes");
    return count(seconds, "a second", "seconds");
}

// Region ids are uint16_t and each geo pool holds a region x region rank matrix: this many
// regions already cost 2 MB per geo pool.
constexpr size_t kMaxRegions = 1000;

// "line 5:14" of where a value was written, for "first at" notes.
std::string first_at(const SourcePos& p) {
    std::string out = " (first at line ";
    out += std::to_string(p.line);
    out += ':';
    out += std::to_string(p.col);
    out += ')';
    return out;
}

struct NodeBuild {
    std::vector<size_t> records;  // into Compiler::records_
    int32_t pool = -1;
    uint8_t flags = 0;
};

class Compiler {
  public:
    Compiler(const ZoneSpec& spec, health::ProbeRegistry* probes)
        : spec_(spec), registry_(probes) {}

    CompileResult run() {
        origin_.reset(ldns_dname_new_frm_str(spec_.origin.text.c_str()));
        if (!origin_) {
            error(spec_.origin.pos, "\"" + spec_.origin.text + "\" is not a valid domain name");
            return finish();
        }
        ldns_dname2canonical(origin_.get());
        apex_ = to_wire(origin_.get());
        add_soa();
        for (const Located& ns : spec_.ns)
            add_line("@ " + std::to_string(spec_.ttl) + " IN NS " + ns.text, ns.pos, true);
        for (const Located& r : spec_.records) add_line(r.text, r.pos, false);
        add_dnssec();
        add_geo();
        add_pools();
        // Every region has its id now: pools and rules named them all.
        if (geo_) geo_->region_names = region_names_;
        check_regions();
        if (has_errors(diags_)) return finish();
        // Only for a zone that is otherwise good: a budget or a fail-open warning about a
        // broken pool would be noise beside its errors.
        check_failover(spec_, diags_);
        group();
        check_consistency();
        if (has_errors(diags_)) return finish();
        add_nsec_chain();
        build();
        return finish();
    }

  private:
    void error(const SourcePos& pos, std::string message) {
        diags_.push_back(Diagnostic{spec_.file, pos, std::move(message)});
    }
    void warning(const SourcePos& pos, std::string message) {
        diags_.push_back(Diagnostic{spec_.file, pos, std::move(message), Severity::warning});
    }

    CompileResult finish() {
        for (Located& d : ns_doubled_) warning(d.pos, std::move(d.text));
        ns_doubled_.clear();
        CompileResult r;
        // Problems come out per check; the operator reads the file top to bottom.
        std::stable_sort(
            diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
                return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.col < b.pos.col;
            });
        r.diags = std::move(diags_);
        if (!has_errors(r.diags)) r.zone = std::move(zone_);
        return r;
    }

    RrPtr parse(const std::string& line, const SourcePos& pos) {
        ldns_rr* raw = nullptr;
        const ldns_status st =
            ldns_rr_new_frm_str(&raw, line.c_str(), spec_.ttl, origin_.get(), nullptr);
        RrPtr rr(raw);
        if (st != LDNS_STATUS_OK || !rr) {
            std::string message = "cannot parse \"";
            message += line;
            message += "\": ";
            std::string bad_address;
            message +=
                check_addresses(line, bad_address) ? ldns_get_errorstr_by_id(st) : bad_address;
            error(pos, std::move(message));
            return nullptr;
        }
        return rr;
    }

    // ldns says only "could not parse the RR's rdata" for `www A 192.0.2.300`; for the two
    // types operators write most, name the token that is wrong: false with `error` set when
    // `line` is a plain A or AAAA record whose address is not one.
    static bool check_addresses(const std::string& line, std::string& error) {
        std::vector<std::string> tokens;
        for (size_t i = 0; i < line.size();) {
            while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
            const size_t start = i;
            while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
            if (i > start) tokens.push_back(line.substr(start, i - start));
        }
        for (size_t t = 1; t + 1 < tokens.size(); ++t) {
            const bool v4 = strcasecmp(tokens[t].c_str(), "A") == 0;
            const bool v6 = strcasecmp(tokens[t].c_str(), "AAAA") == 0;
            if (!v4 && !v6) continue;
            if (t + 2 != tokens.size()) return true;  // not a plain A/AAAA line
            uint8_t buf[16];
            const std::string& addr = tokens[t + 1];
            if (inet_pton(v4 ? AF_INET : AF_INET6, addr.c_str(), buf) == 1) return true;
            error = "\"";
            error += addr;
            error += v4 ? "\" is not an IPv4 address" : "\" is not an IPv6 address";
            return false;
        }
        return true;
    }

    bool inside(const ldns_rdf* name) const {
        return ldns_dname_compare(name, origin_.get()) == 0 ||
               ldns_dname_is_subdomain(name, origin_.get());
    }

    void keep(RrPtr rr, const SourcePos& pos) {
        ldns_rr2canonical(rr.get());  // lowercases owner and names inside standard rdata
        Record rec;
        rec.owner = to_wire(ldns_rr_owner(rr.get()));
        rec.type = ldns_rr_get_type(rr.get());
        rec.ttl = ldns_rr_ttl(rr.get());
        rec.pos = pos;
        BufferPtr buf(ldns_buffer_new(512));
        if (ldns_rr_rdata2buffer_wire(buf.get(), rr.get()) != LDNS_STATUS_OK) {
            error(pos, "cannot render record rdata");
            return;
        }
        rec.rdata.assign(reinterpret_cast<const char*>(ldns_buffer_begin(buf.get())),
                         ldns_buffer_position(buf.get()));
        if (rec.rdata.size() > 65535) {
            error(pos, "record rdata is longer than 65535 octets");
            return;
        }
        records_.push_back(std::move(rec));
    }

    void add_soa() {
        const SoaSpec& s = spec_.soa;
        if (s.rname.text.find('@') != std::string::npos) {
            error(s.rname.pos,
                  "rname is a domain name, not an e-mail address: write \"" +
                      std::string(s.rname.text).replace(s.rname.text.find('@'), 1, ".") +
                      ".\" (the first label is the mailbox)");
            return;
        }
        const std::string line = "@ " + std::to_string(spec_.ttl) + " IN SOA " + s.mname.text +
                                 " " + s.rname.text + " " + std::to_string(s.serial) + " " +
                                 std::to_string(s.refresh) + " " + std::to_string(s.retry) + " " +
                                 std::to_string(s.expire) + " " + std::to_string(s.minimum);
        RrPtr rr = parse(line, s.pos);
        if (!rr) return;
        warn_doubled_origin(ldns_rr_rdf(rr.get(), 0), s.mname.pos);
        warn_doubled_origin(ldns_rr_rdf(rr.get(), 1), s.rname.pos);
        serial_ = s.serial;
        negative_ttl_ = std::min(spec_.ttl, s.minimum);
        keep(std::move(rr), s.pos);
    }

    // "dnssec": the keys, checked now so that a bad key is a located error and the previous
    // version keeps serving; the apex records they publish (DNSKEY, and CDS and CDNSKEY of the
    // key-signing keys for parents that scan for them, RFC 7344 and 8078).
    void add_dnssec() {
        if (!spec_.dnssec) return;
        const DnssecSpec& d = *spec_.dnssec;
        for (const Record& r : records_) {
            if (r.type == LDNS_RR_TYPE_DNSKEY || r.type == LDNS_RR_TYPE_RRSIG ||
                r.type == LDNS_RR_TYPE_NSEC || r.type == LDNS_RR_TYPE_NSEC3 ||
                r.type == LDNS_RR_TYPE_NSEC3PARAM || r.type == LDNS_RR_TYPE_CDS ||
                r.type == LDNS_RR_TYPE_CDNSKEY)
                error(r.pos, dns::rr_type_text(r.type) +
                                 " records of a signed zone are made from its \"dnssec\" keys, "
                                 "not written in \"records\"");
        }
        std::string zone = spec_.origin.text;
        for (char& c : zone) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        keys_ = std::make_shared<ZoneKeys>();
        keys_dir_ = database_path(d.keys.text);
        // Before the files are read: a key added while they are is seen at the next scan.
        struct stat st {};
        if (::stat(keys_dir_.c_str(), &st) == 0)
            keys_dir_mtime_ns_ = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
        std::string problem;
        if (!read_zone_keys(keys_dir_, zone, sign_time_, *keys_, problem)) {
            error(d.keys.pos, problem);
            keys_.reset();
            return;
        }
        for (const dnssec::Key* k : keys_->published) {
            RrPtr dnskey(ldns_rr_clone(k->dnskey.get()));
            // ldns_rr_set_owner does not free the owner it replaces: the RdfPtr does.
            const RdfPtr key_file_owner(ldns_rr_owner(dnskey.get()));
            ldns_rr_set_owner(dnskey.get(), ldns_rdf_clone(origin_.get()));
            ldns_rr_set_ttl(dnskey.get(), spec_.ttl);
            if (k->sep()) {
                RrPtr cds(ldns_key_rr2ds(dnskey.get(), LDNS_SHA256));
                RrPtr cdnskey(ldns_rr_clone(dnskey.get()));
                if (cds && cdnskey) {
                    ldns_rr_set_type(cds.get(), LDNS_RR_TYPE_CDS);
                    ldns_rr_set_type(cdnskey.get(), LDNS_RR_TYPE_CDNSKEY);
                    keep(std::move(cds), d.pos);
                    keep(std::move(cdnskey), d.pos);
                }
            }
            keep(std::move(dnskey), d.pos);
        }
    }

    // The NSEC chain over every authoritative name that owns data (RFC 4035 2.3): empty
    // non-terminals and glue have none. A balanced name's bitmap has the families of its pool.
    void add_nsec_chain() {
        if (!keys_) return;
        std::vector<const Wire*> chain;
        for (const auto& [name, nb] : nodes_) {
            if (nb.flags & node_flag::occluded) continue;
            if (!nb.records.empty() || nb.pool >= 0) chain.push_back(&name);
        }
        std::sort(chain.begin(), chain.end(), [](const Wire* a, const Wire* b) {
            return dns::canonical_compare(as_span(*a), as_span(*b)) < 0;
        });
        for (size_t i = 0; i < chain.size(); ++i) {
            NodeBuild& nb = nodes_.at(*chain[i]);
            const bool cut = (nb.flags & node_flag::delegation) != 0;
            std::vector<uint16_t> types = {LDNS_RR_TYPE_NSEC, LDNS_RR_TYPE_RRSIG};
            for (size_t r : nb.records) {
                const uint16_t t = records_[r].type;
                // At a cut the NS and DS are ours to list; addresses there are glue.
                if (!cut || t == LDNS_RR_TYPE_NS || t == LDNS_RR_TYPE_DS) types.push_back(t);
            }
            if (nb.pool >= 0) {
                for (const lb::Member& m : pools_[nb.pool].members) {
                    if (m.enabled) types.push_back(m.family == 4 ? dns::type::A : dns::type::AAAA);
                }
            }
            if (cut) {
                types.erase(std::remove(types.begin(), types.end(), LDNS_RR_TYPE_RRSIG),
                            types.end());
                types.push_back(LDNS_RR_TYPE_RRSIG);  // the NSEC's own (and the DS's)
            }
            Record rec;
            rec.owner = *chain[i];
            rec.type = LDNS_RR_TYPE_NSEC;
            rec.ttl = negative_ttl_;  // RFC 4035 2.3: the SOA minimum, as the negative TTL
            rec.rdata = nsec_rdata(as_span(*chain[(i + 1) % chain.size()]), types);
            rec.pos = spec_.dnssec->pos;
            nb.records.push_back(records_.size());
            records_.push_back(std::move(rec));
        }
    }

    void add_line(const std::string& line, const SourcePos& pos, bool from_ns_list) {
        RrPtr rr = parse(line, pos);
        if (!rr) return;
        const ldns_rr_type t = ldns_rr_get_type(rr.get());
        const ldns_rdf* owner = ldns_rr_owner(rr.get());
        if (ldns_rr_get_class(rr.get()) != LDNS_RR_CLASS_IN) {
            error(pos, "only class IN is served");
            return;
        }
        if (!inside(owner)) {
            char* o = ldns_rdf2str(owner);
            error(pos, std::string("owner ") + (o ? o : "?") + " is outside the zone " +
                           spec_.origin.text);
            free(o);
            return;
        }
        if (!wildcard_leftmost_only(owner, pos)) return;
        if (t == LDNS_RR_TYPE_SOA) {
            error(pos, "the SOA record comes from the \"soa\" object, not from \"records\"");
            return;
        }
        if (t == LDNS_RR_TYPE_OPT || t == LDNS_RR_TYPE_TSIG || t == LDNS_RR_TYPE_TKEY ||
            (t >= 251 && t <= 255)) {
            error(pos, "type " + dns::rr_type_text(t) + " cannot be served from a zone");
            return;
        }
        if (!from_ns_list && t == LDNS_RR_TYPE_NS &&
            ldns_dname_compare(owner, origin_.get()) == 0) {
            error(pos, "NS records at the apex come from the \"ns\" list, not from \"records\"");
            return;
        }
        warn_doubled_origin(ldns_rr_owner(rr.get()), pos);
        for (size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
            const ldns_rdf* rd = ldns_rr_rdf(rr.get(), i);
            if (ldns_rdf_get_type(rd) != LDNS_RDF_TYPE_DNAME) continue;
            if (!from_ns_list) {
                warn_doubled_origin(rd, pos);
            } else if (std::string message = doubled_origin(rd); !message.empty()) {
                // Said later, once: as the error when the name also has no address (the
                // missing glue is this same mistake), else as a warning.
                ns_doubled_.push_back(Located{std::move(message), pos});
            }
        }
        keep(std::move(rr), pos);
    }

    // RFC 4592 2.1.1: "*" makes a wildcard only as the leftmost label. Elsewhere (a.*.b, 2.1.3)
    // it is a literal label that matches nothing but itself, almost surely a mistake, so it is
    // refused rather than served as a name nobody asks for. Labels of the apex are not ours.
    bool wildcard_leftmost_only(const ldns_rdf* owner, const SourcePos& pos) {
        const Wire name = to_wire(owner);
        for (size_t at = 1 + static_cast<uint8_t>(name[0]); at + apex_.size() < name.size();
             at += 1 + static_cast<uint8_t>(name[at])) {
            if (name[at] == 1 && name[at + 1] == '*') {
                error(pos, "owner " + text(name) +
                               " has \"*\" in the middle: a wildcard is \"*\" as the leftmost "
                               "label only (*.name, RFC 4592)");
                return false;
            }
        }
        return true;
    }

    // A name written without its final dot is relative to the zone: "ns1.md.example.test" in
    // md.example.test. is ns1.md.example.test.md.example.test., valid and almost never meant
    // (named-checkzone warns the same way). The message saying so with the two ways to write
    // the name meant, or "" when `name` does not end in the zone name twice. Zones of one
    // label are left out: "test" in test. is test.test., as likely meant as not.
    std::string doubled_origin(const ldns_rdf* name) const {
        if (ldns_dname_label_count(origin_.get()) < 2) return "";
        const auto lower_text = [](const ldns_rdf* rdf) {
            char* raw = ldns_rdf2str(rdf);
            std::string out = raw ? raw : "";
            free(raw);
            for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return out;
        };
        const std::string origin = lower_text(origin_.get());  // "md.example.test."
        const std::string full = lower_text(name);
        const std::string twice = origin + origin;
        if (!full.ends_with(twice)) return "";
        const std::string prefix = full.substr(0, full.size() - twice.size());  // "ns1." or ""
        if (!prefix.empty() && prefix.back() != '.') return "";
        std::string message = full +
                              " has the zone name twice: a name without a final dot is "
                              "relative to the zone; write \"" +
                              prefix + origin + "\"";
        if (!prefix.empty())
            message += " or \"" + prefix.substr(0, prefix.size() - 1) + "\"";
        else
            message += " or \"@\"";
        return message;
    }

    void warn_doubled_origin(const ldns_rdf* name, const SourcePos& pos) {
        if (std::string message = doubled_origin(name); !message.empty())
            warning(pos, std::move(message));
    }

    void add_pools() {
        // Sized exactly (here and per pool below): a reload holds the old zone and this one.
        const size_t n = spec_.pools.size();
        pools_.reserve(n);
        pool_member_regions_.reserve(n);
        pool_region_lists_.reserve(n);
        pool_probes_.reserve(n);
        pool_owner_.reserve(n);
        pool_pos_.reserve(n);
        for (size_t i = 0; i < spec_.pools.size(); ++i) {
            const PoolSpec& ps = spec_.pools[i];
            lb::Pool pool;
            pool.name = ps.name.text;
            if (!lb::parse_policy(ps.policy.text, pool.policy)) {
                error(ps.policy.pos, "unknown policy \"" + ps.policy.text + "\"");
                continue;
            }
            if (pool.policy == lb::Policy::geo && !spec_.geo) {
                error(ps.policy.pos,
                      "policy \"geo\" needs the zone's \"geo\" section (rules and a default "
                      "region)");
                continue;
            }
            const std::string owner_text = ps.name.text == "@" ? spec_.origin.text
                                           : (!ps.name.text.empty() && ps.name.text.back() == '.')
                                               ? ps.name.text
                                               : ps.name.text + "." + spec_.origin.text;
            RdfPtr owner(ldns_dname_new_frm_str(owner_text.c_str()));
            if (!owner) {
                error(ps.name.pos, "\"" + ps.name.text + "\" is not a valid name");
                continue;
            }
            ldns_dname2canonical(owner.get());
            if (!inside(owner.get())) {
                error(ps.name.pos,
                      "pool " + owner_text + " is outside the zone " + spec_.origin.text);
                continue;
            }
            if (ps.members.size() > 65535) {
                error(ps.pos, "a pool holds at most 65535 members");
                continue;
            }
            pool.ttl = ps.ttl.value_or(spec_.ttl);
            if (!ps.ttl && is_probed(ps) && spec_.ttl > kProbedTtlWarnAbove) {
                SourcePos at = ps.pos;
                at.path += ".ttl";
                warning(at,
                        std::to_string(spec_.ttl) + " s lets resolvers keep a dead member for " +
                            for_how_long(spec_.ttl) + "; health-checked pools usually use 30-60");
            }
            resolve_ttl_degraded(ps, pool);
            if (ps.failback && ps.failback->mode != health::FailbackMode::immediate &&
                !is_probed(ps))
                warning(ps.failback_pos,
                        "\"failback\" has no effect: no check probes a member "
                        "of this pool");
            pool.answers = static_cast<uint16_t>(ps.answers.value_or(0));
            resolve_fallback(ps, pool);
            std::vector<std::pair<size_t, MemberProbe>> probes;  // probed members only
            const bool geo = pool.policy == lb::Policy::geo;
            std::vector<uint16_t> member_regions;
            member_regions.reserve(ps.members.size());
            pool.members.reserve(ps.members.size());
            for (const MemberSpec& ms : ps.members) {
                lb::Member m;
                m.address_text = ms.address.text;
                m.enabled = ms.enabled;
                m.drained = ms.drained;
                m.in_maintenance = ms.in_maintenance;
                m.maintenance = ms.maintenance;
                m.weight = ms.weight;
                m.priority = ms.priority;
                if (ms.region()) m.region = ms.region()->text;
                if (inet_pton(AF_INET, ms.address.text.c_str(), m.address) == 1) {
                    m.family = 4;
                } else if (inet_pton(AF_INET6, ms.address.text.c_str(), m.address) == 1) {
                    m.family = 6;
                } else {
                    error(address_pos(ps, ms),
                          "\"" + ms.address.text + "\" is not an IPv4 or IPv6 address");
                    continue;
                }
                MemberProbe probe = member_probe(ps, ms, m);
                if (probe.check || !probe.parts.empty())
                    probes.emplace_back(pool.members.size(), std::move(probe));
                pool.members.push_back(std::move(m));
                // Only geo reads regions; elsewhere a member's region is a label.
                member_regions.push_back(geo && ms.region() ? region_id(ms.region()->text)
                                                            : lb::kNoRegion);
            }
            check_weights(ps, pool);
            std::vector<std::vector<uint16_t>> lists;
            if (geo) {
                for (const RegionListSpec& list : ps.regions) {
                    const uint16_t client = region_id(list.client.text);
                    if (client == lb::kNoRegion) continue;
                    if (lists.size() <= client) lists.resize(static_cast<size_t>(client) + 1);
                    for (const Located& r : list.regions)
                        lists[client].push_back(region_id(r.text));
                }
                pool.geo = geo_;
            }
            pool_member_regions_.push_back(std::move(member_regions));
            pool_region_lists_.push_back(std::move(lists));
            pool_probes_.push_back(std::move(probes));
            pool_owner_.push_back(to_wire(owner.get()));
            pool_pos_.push_back(ps.name.pos);
            pools_.push_back(std::move(pool));
        }
    }

    // Weight 0 means "never chosen" for the policies that read weights: a family whose enabled
    // members all weigh 0 could only ever be answered by its fallback.
    void check_weights(const PoolSpec& ps, const lb::Pool& pool) {
        if (pool.policy != lb::Policy::weighted && pool.policy != lb::Policy::hash &&
            pool.policy != lb::Policy::geo)
            return;
        uint64_t total[2] = {0, 0};
        size_t enabled[2] = {0, 0};
        for (const lb::Member& m : pool.members) {
            if (!m.enabled) continue;
            const int f = m.family == 6 ? 1 : 0;
            total[f] += m.weight;
            ++enabled[f];
        }
        const bool v4_zero = enabled[0] > 0 && total[0] == 0;
        const bool v6_zero = enabled[1] > 0 && total[1] == 0;
        if (!v4_zero && !v6_zero) return;
        if ((v4_zero || enabled[0] == 0) && (v6_zero || enabled[1] == 0)) {
            error(ps.policy.pos, "all weights are zero: nothing can be chosen");
        } else {
            error(ps.policy.pos, std::string("all weights of the ") + (v4_zero ? "IPv4" : "IPv6") +
                                     " members are zero: nothing can be chosen for " +
                                     (v4_zero ? "A" : "AAAA") + " queries");
        }
    }

    // The id of a region name, given out in order of first mention: the geo section's rules
    // and default, then the pools in file order. That order is the "every other region" order
    // of a client region the pool gives no list for.
    uint16_t region_id(const std::string& name) {
        const auto it = region_ids_.find(name);
        if (it != region_ids_.end()) return it->second;
        if (region_names_.size() >= kMaxRegions) {
            if (!too_many_regions_)
                error(spec_.geo ? spec_.geo->pos : SourcePos{},
                      "more than " + std::to_string(kMaxRegions) + " regions");
            too_many_regions_ = true;
            return lb::kNoRegion;
        }
        const auto id = static_cast<uint16_t>(region_names_.size());
        region_names_.push_back(name);
        region_ids_.emplace(name, id);
        return id;
    }

    // Relative database paths are relative to the zone file, so a zone repository can carry
    // its database wherever the server runs from.
    std::string database_path(const std::string& path) const {
        const std::filesystem::path p(path);
        if (p.is_absolute()) return path;
        return (std::filesystem::path(spec_.file).parent_path() / p).lexically_normal().string();
    }

    void add_geo() {
        if (!spec_.geo) return;
        const GeoSpec& gs = *spec_.geo;
        auto geo = std::make_shared<lb::GeoConfig>();
        std::vector<lb::NetRule> nets;
        std::vector<const GeoRuleSpec*> net_specs;  // parallel to nets
        std::map<std::string, const Located*> countries;
        std::map<std::string, const Located*> continents;
        for (const GeoRuleSpec& rule : gs.rules) {
            const uint16_t region = region_id(rule.region.text);
            if (rule.net) {
                lb::NetRule net;
                net.region = region;
                std::string problem;
                if (!lb::parse_cidr(rule.net->text, net.net, problem)) {
                    error(rule.net->pos, std::move(problem));
                    continue;
                }
                nets.push_back(net);
                net_specs.push_back(&rule);
            } else if (rule.country) {
                const auto [first, fresh] = countries.emplace(rule.country->text, &*rule.country);
                if (!fresh) {
                    error(rule.country->pos, "duplicate country rule " +
                                                 json_quoted(rule.country->text) +
                                                 first_at(first->second->pos));
                } else if (!geo->rules.add_country(rule.country->text, region)) {
                    error(rule.country->pos,
                          json_quoted(rule.country->text) + " is not a country code");
                }
            } else if (rule.continent) {
                const auto [first, fresh] =
                    continents.emplace(rule.continent->text, &*rule.continent);
                if (!fresh) {
                    error(rule.continent->pos, "duplicate continent rule " +
                                                   json_quoted(rule.continent->text) +
                                                   first_at(first->second->pos));
                } else if (!geo->rules.add_continent(rule.continent->text, region)) {
                    error(rule.continent->pos,
                          json_quoted(rule.continent->text) + " is not a continent code");
                }
            } else {
                error(rule.pos, "a rule needs \"net\", \"country\" or \"continent\"");
            }
        }
        lb::GeoMap::Built built = lb::GeoMap::build(nets);
        for (const lb::NetRuleError& e : built.errors) {
            const Located& net = *net_specs[e.rule]->net;
            error(net.pos, "duplicate net " + lb::to_string(nets[e.rule].net) +
                               first_at(net_specs[e.other]->net->pos));
        }
        geo->rules.nets = std::move(built.map);
        geo->rules.default_region = region_id(gs.default_region.text);
        if (gs.database) {
            std::string problem;
            lb::GeoIp db;
            if (db.open(database_path(gs.database->text), problem))
                geo->database = std::make_shared<const lb::GeoIp>(std::move(db));
            else
                error(gs.database->pos, std::move(problem));
        }
        geo_ = std::move(geo);
    }

    // Region names are checked both ways, so that a typo anywhere is an error rather than
    // clients quietly answered from another region:
    // - a region clients are put in (by a rule or the default) must be served: some geo pool
    //   has a member in it or a "regions" list for it;
    // - a "regions" key must be a region clients are put in;
    // - a "regions" value, and a member's region, must be a region clients are put in or one
    //   the same pool names elsewhere (its members, its "regions" lists).
    void check_regions() {
        // Without a geo section every geo pool is already an error, and every name would be.
        if (!spec_.geo) return;
        std::set<std::string_view> client_regions;  // named by rules and the default
        std::set<std::string_view> served;          // members and regions keys of geo pools
        bool any_geo_pool = false;
        for (const GeoRuleSpec& rule : spec_.geo->rules) client_regions.insert(rule.region.text);
        client_regions.insert(spec_.geo->default_region.text);
        for (const PoolSpec& ps : spec_.pools) {
            if (ps.policy.text != "geo") continue;
            any_geo_pool = true;
            for (const MemberSpec& ms : ps.members)
                if (ms.region()) served.insert(ms.region()->text);
            for (const RegionListSpec& list : ps.regions) served.insert(list.client.text);
        }
        // Client regions already reported as served by no pool: a name elsewhere that is a
        // typo away from one of them is the same mistake, reported once where it was made.
        std::set<std::string_view> unserved;
        // `valid`: the names that would have been accepted here, for the "did you mean".
        const auto unknown = [&](const Located& name, std::string_view why,
                                 const std::set<std::string_view>& valid) {
            const std::vector<std::string_view> candidates(valid.begin(), valid.end());
            std::string message = "unknown region " + json_quoted(name.text);
            message += ": ";
            message += why;
            if (const std::string_view best = closest(name.text, candidates); !best.empty()) {
                if (unserved.count(best)) return;
                message += " (did you mean " + json_quoted(best) + "?)";
            }
            error(name.pos, std::move(message));
        };
        if (any_geo_pool) {
            for (const GeoRuleSpec& rule : spec_.geo->rules)
                if (!served.count(rule.region.text))
                    unknown(rule.region,
                            "no geo pool has a member in it or a \"regions\" list for it", served);
            if (!served.count(spec_.geo->default_region.text))
                unknown(spec_.geo->default_region,
                        "no geo pool has a member in it or a \"regions\" list for it", served);
            for (std::string_view region : client_regions)
                if (!served.count(region)) unserved.insert(region);
        }
        for (const PoolSpec& ps : spec_.pools) {
            if (ps.policy.text != "geo") continue;
            std::set<std::string_view> named(client_regions);
            for (const MemberSpec& ms : ps.members)
                if (ms.region()) named.insert(ms.region()->text);
            std::set<std::string_view> listed(client_regions);
            for (const RegionListSpec& list : ps.regions) {
                listed.insert(list.client.text);
                for (const Located& r : list.regions) listed.insert(r.text);
            }
            for (const RegionListSpec& list : ps.regions) {
                if (!client_regions.count(list.client.text))
                    unknown(list.client, "no rule or default puts clients in it", client_regions);
                for (const Located& r : list.regions)
                    if (!named.count(r.text))
                        unknown(r, "no rule, default or member of this pool names it", named);
            }
            for (const MemberSpec& ms : ps.members)
                if (!ms.region())
                    error(member_pos(ps, ms), "a member of a geo pool needs a \"region\"");
            for (const MemberSpec& ms : ps.members)
                if (ms.region() && !listed.count(ms.region()->text))
                    unknown(*ms.region(),
                            "no rule, default or \"regions\" list of this pool names it", listed);
        }
    }

    static constexpr const char* kDampingUnchecked =
        "\"damping\" has no effect: no check probes this member";

    // What probes a member: its own check, else its pool's; a "none" check is no probe. A
    // composite check probes each part, and the member reads a slot derived from them.
    struct MemberProbe {
        const CheckSpec* check = nullptr;
        health::ProbeTarget target;
        std::vector<const CheckSpec*> parts;
        std::vector<health::ProbeTarget> part_targets;
        uint32_t require = 0;
        std::string name;  // "web", "web+api"
    };

    const CheckSpec* find_check(const Located& name) {
        for (const CheckSpec& c : spec_.checks)
            if (c.name.text == name.text) return &c;
        // The loader reports unknown names; a spec built in code may still carry one.
        error(name.pos, "unknown check \"" + name.text + "\"");
        return nullptr;
    }

    MemberProbe member_probe(const PoolSpec& ps, const MemberSpec& ms, const lb::Member& m) {
        MemberProbe p;
        const std::optional<CheckRef>& ref = ms.check() ? ms.check() : ps.check;
        if (!ref && ms.damping()) warning(ms.damping_pos(), kDampingUnchecked);
        if (!ref || ref->names.empty()) return p;
        p.target = probe_address(ms, m);
        p.name = ref->text();
        if (ref->composite()) {
            for (const Located& name : ref->names) {
                const CheckSpec* c = find_check(name);
                if (c && c->def.type == health::CheckType::none) {
                    error(name.pos, "check \"" + name.text +
                                        "\" is of type none: each check of a list must probe");
                    c = nullptr;
                }
                if (!c) return MemberProbe{};
                health::ProbeTarget t = p.target;
                t.check = c->def;
                if (ms.damping()) t.check.damping = ms.damping();
                p.parts.push_back(c);
                p.part_targets.push_back(std::move(t));
            }
            p.require = ref->required();
            return p;
        }
        p.check = find_check(ref->names.front());
        if (!p.check || p.check->def.type == health::CheckType::none) {
            if (p.check && ms.damping()) warning(ms.damping_pos(), kDampingUnchecked);
            p.check = nullptr;
            return p;
        }
        p.target.check = p.check->def;
        if (ms.damping()) p.target.check.damping = ms.damping();
        // Failback holds a single check's probe only; a composite's parts never carry it.
        if (ps.failback && ps.failback->mode != health::FailbackMode::immediate) {
            p.target.check.failback = ps.failback;
            // A manual hold is released per pool member: the pool is part of the probe key.
            if (ps.failback->mode == health::FailbackMode::manual)
                p.target.check.failback->scope = spec_.origin.text + " " + ps.name.text;
        }
        return p;
    }

    // Where a member is probed: its probe_address, else its own.
    health::ProbeTarget probe_address(const MemberSpec& ms, const lb::Member& m) {
        health::ProbeTarget t;
        t.family = m.family;
        std::memcpy(t.address, m.address, sizeof m.address);
        t.address_text = m.address_text;
        if (ms.probe_address()) {
            const Located& pa = *ms.probe_address();
            t.address_text = pa.text;
            std::memset(t.address, 0, sizeof t.address);
            if (inet_pton(AF_INET, pa.text.c_str(), t.address) == 1) {
                t.family = 4;
            } else if (inet_pton(AF_INET6, pa.text.c_str(), t.address) == 1) {
                t.family = 6;
            } else {
                error(pa.pos, "\"" + pa.text + "\" is not an IPv4 or IPv6 address");
            }
        }
        return t;
    }

    // Whether a check other than "none" probes some member of the pool.
    bool is_probed(const PoolSpec& ps) const {
        const auto probes = [&](const std::optional<CheckRef>& ref) -> bool {
            if (!ref) return false;
            for (const Located& name : ref->names)
                for (const CheckSpec& c : spec_.checks)
                    if (c.name.text == name.text && c.def.type != health::CheckType::none)
                        return true;
            return false;
        };
        if (probes(ps.check)) return true;
        for (const MemberSpec& ms : ps.members)
            if (probes(ms.check())) return true;
        return false;
    }

    // "ttl_degraded": off (the ttl) unless set; sensible in 1..ttl, so warn outside it.
    void resolve_ttl_degraded(const PoolSpec& ps, lb::Pool& pool) {
        pool.ttl_degraded = ps.ttl_degraded.value_or(pool.ttl);
        if (!ps.ttl_degraded) return;
        const std::string value = "ttl_degraded " + std::to_string(pool.ttl_degraded);
        if (pool.ttl_degraded > pool.ttl) {
            warning(ps.ttl_degraded_pos,
                    value + " is longer than the pool's ttl " + std::to_string(pool.ttl) +
                        ": resolvers would keep answers given while members are down longer "
                        "than healthy ones; use at most the ttl");
        } else if (pool.ttl_degraded == 0) {
            warning(ps.ttl_degraded_pos,
                    value +
                        ": resolvers cache no answer while a member is down, so every query "
                        "of theirs reaches the server; a few seconds already bring clients "
                        "back soon");
        }
    }

    void resolve_fallback(const PoolSpec& ps, lb::Pool& pool) {
        if (!ps.fallback || ps.fallback->text == "all") return;
        if (ps.fallback->text == "none") {
            pool.fallback = lb::Fallback::none;
            return;
        }
        for (size_t i = 0; i < spec_.pools.size(); ++i) {
            if (spec_.pools[i].name.text == ps.fallback->text && &spec_.pools[i] != &ps) {
                pool.fallback = lb::Fallback::pool;
                pool.fallback_pool = static_cast<int32_t>(i);
                return;
            }
        }
        error(ps.fallback->pos, "unknown fallback \"" + ps.fallback->text + "\"");
    }

    // Takes the probe slots of every probed member, once the zone is known to be good.
    void assign_probes(Zone& z) {
        if (registry_ == nullptr) return;
        std::shared_ptr<health::ProbeLease> lease = registry_->lease();
        const std::string apex = z.apex_text();
        for (size_t i = 0; i < pools_.size(); ++i) {
            lb::Pool& pool = pools_[i];
            for (const auto& [j, p] : pool_probes_[i]) {
                lb::Member& m = pool.members[j];
                if (p.check) {
                    m.probe_slot = lease->acquire(
                        p.target, health::ProbeLabel{apex, pool.name, m.address_text, p.name});
                } else {
                    m.probe_slot = acquire_composite(*lease, p, apex, pool.name, m);
                }
                if (m.probe_slot == health::kNoProbe) {
                    error(member_pos(spec_.pools[i], spec_.pools[i].members[j]),
                          "too many distinct probes (the health table holds " +
                              std::to_string(registry_->capacity()) + ")");
                    return;
                }
            }
        }
        if (lease->size() > 0) z.probes = std::move(lease);
    }

    // Each part's probe, shared like any other, then the member's derived slot over them.
    static uint32_t acquire_composite(health::ProbeLease& lease, const MemberProbe& p,
                                      const std::string& apex, const std::string& pool,
                                      lb::Member& m) {
        std::vector<uint32_t> slots;
        std::vector<std::string> names;
        for (size_t k = 0; k < p.parts.size(); ++k) {
            const std::string& name = p.parts[k]->name.text;
            health::ProbeLabel label{apex, pool, m.address_text, name};
            label.part = true;
            const uint32_t slot = lease.acquire(p.part_targets[k], std::move(label));
            if (slot == health::kNoProbe) return slot;
            slots.push_back(slot);
            names.push_back(name);
            m.check_parts.push_back({name, slot});
        }
        m.check_require = p.require;
        health::ProbeTarget member = p.target;
        member.check = health::CheckDef{};  // type none: nothing to probe
        return lease.acquire_composite(member, std::move(slots), std::move(names), p.require,
                                       health::ProbeLabel{apex, pool, m.address_text, p.name});
    }

    void group() {
        for (size_t i = 0; i < records_.size(); ++i) nodes_[records_[i].owner].records.push_back(i);
        for (size_t i = 0; i < pools_.size(); ++i) {
            NodeBuild& nb = nodes_[pool_owner_[i]];
            if (nb.pool >= 0) {
                error(pool_pos_[i], "pool " + text(pool_owner_[i]) +
                                        " is defined twice (first at " + where(pool_pos_[nb.pool]) +
                                        ")");
                continue;
            }
            nb.pool = static_cast<int32_t>(i);
        }
        // Empty non-terminals: every name between an owner and the apex exists (RFC 4592),
        // so queries for them get NODATA rather than NXDOMAIN.
        std::vector<Wire> owners;
        for (auto& [name, nb] : nodes_) owners.push_back(name);
        for (const Wire& name : owners) {
            size_t pos = 0;
            while (name.size() - pos > apex_.size()) {
                pos += 1 + static_cast<uint8_t>(name[pos]);
                nodes_.try_emplace(name.substr(pos));
            }
        }
        nodes_.try_emplace(apex_);
        nodes_[apex_].flags |= node_flag::apex;
        // A wildcard's parent exists (the loop above made it at worst an empty non-terminal);
        // it is the closest encloser every synthesized answer starts from.
        for (const auto& [name, nb] : nodes_) {
            if (is_wildcard(name) && name != apex_)
                nodes_.at(name.substr(2)).flags |= node_flag::wildcard_child;
        }
    }

    static bool is_wildcard(const Wire& name) {
        return name.size() > 2 && name[0] == 1 && name[1] == '*';
    }

    const Record* first_of(const NodeBuild& nb, uint16_t type) const {
        for (size_t i : nb.records)
            if (records_[i].type == type) return &records_[i];
        return nullptr;
    }

    void check_consistency() {
        // Zone cuts: NS below the apex. Everything under a cut is glue at best.
        std::vector<Wire> cuts;
        for (auto& [name, nb] : nodes_) {
            if (name != apex_ && first_of(nb, dns::type::NS)) {
                nb.flags |= node_flag::delegation;
                cuts.push_back(name);
            }
        }
        for (auto& [name, nb] : nodes_) {
            const Wire* cut = nullptr;
            for (const Wire& c : cuts)
                if (name != c && dns::is_subdomain(as_span(name), as_span(c))) cut = &c;
            if (cut) nb.flags |= node_flag::occluded;
            const bool at_cut = (nb.flags & node_flag::delegation) != 0;
            for (size_t i : nb.records) {
                const Record& r = records_[i];
                const bool glue = r.type == dns::type::A || r.type == dns::type::AAAA;
                if (cut && !glue) {
                    error(r.pos, dns::rr_type_text(r.type) + " at " + text(name) +
                                     " is below the delegation at " + text(*cut) +
                                     " and would never be answered");
                } else if (at_cut && r.type == dns::type::NS && is_wildcard(name)) {
                    // RFC 4592 4.2: synthesizing a referral from a wildcard is left undefined
                    // and discouraged; refusing it beats an answer nobody can predict.
                    error(r.pos, dns::rr_type_text(r.type) + " at the wildcard " + text(name) +
                                     ": a wildcard cannot delegate (RFC 4592 4.2)");
                } else if (at_cut && !glue && r.type != dns::type::NS && r.type != dns::type::DS) {
                    error(r.pos,
                          dns::rr_type_text(r.type) + " at " + text(name) +
                              " is at a delegation point, where only NS, DS and glue belong");
                }
            }
            if (nb.pool >= 0 && (cut || at_cut)) {
                error(pool_pos_[nb.pool],
                      "pool " + text(name) + " is at or below the delegation at " +
                          text(cut ? *cut : name) + " and would never be answered");
            }
            // CNAME and other data (RFC 1034 3.6.2, RFC 2181 10.1).
            const Record* cname = first_of(nb, dns::type::CNAME);
            if (cname) {
                for (size_t i : nb.records) {
                    const Record& r = records_[i];
                    if (&r == cname) continue;
                    error(r.type == dns::type::CNAME ? r.pos : cname->pos,
                          r.type == dns::type::CNAME
                              ? "second CNAME at " + text(name) + " (first at " +
                                    where(cname->pos) + ")"
                              : "CNAME at " + text(name) + " cannot coexist with other data (" +
                                    dns::rr_type_text(r.type) + " at " + where(r.pos) + ")");
                }
                if (nb.pool >= 0)
                    error(cname->pos, "CNAME at " + text(name) + " cannot coexist with pool " +
                                          spec_.pools[nb.pool].name.text + " (at " +
                                          where(pool_pos_[nb.pool]) + ")");
            }
            if (nb.pool >= 0) {
                for (uint16_t t : {dns::type::A, dns::type::AAAA}) {
                    if (const Record* r = first_of(nb, t))
                        error(pool_pos_[nb.pool],
                              "pool " + spec_.pools[nb.pool].name.text + " and the " +
                                  dns::rr_type_text(t) + " record at " + where(r->pos) +
                                  " both answer " + dns::rr_type_text(t) + " at " + text(name));
                }
            }
            // RFC 2181 5.2: one TTL per RRset.
            std::map<uint16_t, const Record*> first;
            for (size_t i : nb.records) {
                const Record& r = records_[i];
                auto [it, fresh] = first.emplace(r.type, &r);
                if (!fresh && it->second->ttl != r.ttl)
                    error(r.pos, "TTL " + std::to_string(r.ttl) + " differs from " +
                                     std::to_string(it->second->ttl) + " of the " +
                                     dns::rr_type_text(r.type) + " record at " +
                                     where(it->second->pos) +
                                     " (an RRset has one TTL, RFC 2181 5.2)");
            }
        }
        check_apex_ns_addresses();
    }

    // A name server named inside the zone is found only through the zone's own A/AAAA for it
    // (the glue its parent copies): without one the delegation cannot be followed.
    void check_apex_ns_addresses() {
        const auto it = nodes_.find(apex_);
        if (it == nodes_.end()) return;
        for (size_t i : it->second.records) {
            const Record& r = records_[i];
            if (r.type != dns::type::NS) continue;
            const Wire& target = r.rdata;  // the NS rdata is the (lowercased) name
            if (!dns::is_subdomain(as_span(target), as_span(apex_))) continue;
            const auto node = nodes_.find(target);
            if (node != nodes_.end() &&
                (node->second.pool >= 0 || first_of(node->second, dns::type::A) ||
                 first_of(node->second, dns::type::AAAA)))
                continue;
            const auto doubled =
                std::find_if(ns_doubled_.begin(), ns_doubled_.end(), [&](const Located& d) {
                    return d.pos.line == r.pos.line && d.pos.col == r.pos.col &&
                           d.pos.path == r.pos.path;
                });
            if (doubled != ns_doubled_.end()) {
                error(r.pos, "name server " + doubled->text +
                                 "; as written it has no A or AAAA record, so the delegation "
                                 "to this zone cannot be followed");
                ns_doubled_.erase(doubled);
                continue;
            }
            error(r.pos, "name server " + text(target) +
                             " is inside the zone but has no A or AAAA record (nor pool): "
                             "without glue the delegation to this zone cannot be followed");
        }
    }

    static void put_u16(std::vector<uint8_t>& v, uint16_t x) {
        v.push_back(static_cast<uint8_t>(x >> 8));
        v.push_back(static_cast<uint8_t>(x));
    }
    static void put_u32(std::vector<uint8_t>& v, uint32_t x) {
        put_u16(v, static_cast<uint16_t>(x >> 16));
        put_u16(v, static_cast<uint16_t>(x));
    }

    void build() {
        auto z = std::make_shared<Zone>();
        z->file = spec_.file;
        z->apex.assign(apex_.begin(), apex_.end());
        z->serial = serial_;
        z->file_sha256 = spec_.text_sha256;
        z->default_ttl = spec_.ttl;
        z->negative_ttl = negative_ttl_;
        z->notify = spec_.notify;

        // Apex first, so nodes[0] is always the apex.
        std::vector<const Wire*> order;
        order.push_back(&apex_);
        for (auto& [name, nb] : nodes_)
            if (name != apex_) order.push_back(&name);
        std::map<Wire, uint32_t> index;
        for (const Wire* name : order) {
            const NodeBuild& nb = nodes_.at(*name);
            Node n;
            n.name_offset = static_cast<uint32_t>(z->names.size());
            n.name_len = static_cast<uint8_t>(name->size());
            z->names.insert(z->names.end(), name->begin(), name->end());
            n.flags = nb.flags;
            n.pool = nb.pool;
            n.rrset_begin = static_cast<uint32_t>(z->rrsets.size());
            std::map<uint16_t, std::vector<size_t>> by_type;
            for (size_t i : nb.records) by_type[records_[i].type].push_back(i);
            for (auto& [type, idx] : by_type) {
                RRset rs;
                rs.type = type;
                rs.ttl = records_[idx.front()].ttl;
                rs.offset = static_cast<uint32_t>(z->images.size());
                rs.rdata_is_name = type == dns::type::NS || type == dns::type::CNAME;
                std::set<std::string> seen;  // RFC 2181 5: duplicate records are one record
                for (size_t i : idx) {
                    const Record& r = records_[i];
                    if (!seen.insert(r.rdata).second) continue;
                    put_u16(z->images, type);
                    put_u16(z->images, dns::klass::IN);
                    put_u32(z->images, rs.ttl);
                    put_u16(z->images, static_cast<uint16_t>(r.rdata.size()));
                    z->images.insert(z->images.end(), r.rdata.begin(), r.rdata.end());
                    ++rs.count;
                }
                rs.length = static_cast<uint32_t>(z->images.size() - rs.offset);
                z->rrsets.push_back(rs);
            }
            n.rrset_count = static_cast<uint16_t>(z->rrsets.size() - n.rrset_begin);
            index[*name] = static_cast<uint32_t>(z->nodes.size());
            z->nodes.push_back(n);
        }
        // Occluded nodes point at their cut; NS rrsets point at their in-zone glue.
        for (Node& n : z->nodes) {
            if (!(n.flags & node_flag::occluded)) continue;
            std::span<const uint8_t> name = z->node_name(n);
            size_t pos = 0;
            while (name.size() - pos > apex_.size()) {
                pos += 1 + name[pos];
                auto it = index.find(
                    Wire(reinterpret_cast<const char*>(name.data() + pos), name.size() - pos));
                if (it != index.end() && (z->nodes[it->second].flags & node_flag::delegation)) {
                    n.cut = static_cast<int32_t>(it->second);
                    break;
                }
            }
        }
        for (RRset& rs : z->rrsets) {
            if (rs.type != dns::type::NS) continue;
            rs.additional_begin = static_cast<uint32_t>(z->additionals.size());
            size_t off = rs.offset;
            for (uint16_t i = 0; i < rs.count; ++i) {
                const uint8_t* rr = &z->images[off];  // RDLENGTH ends the fixed part
                const uint16_t rdlen = dns::load_u16(rr + dns::kRrFixedSize - 2);
                Wire target(reinterpret_cast<const char*>(rr + dns::kRrFixedSize), rdlen);
                auto it = index.find(target);
                if (it != index.end()) z->additionals.push_back(Additional{i, it->second});
                off += dns::kRrFixedSize + rdlen;
            }
            rs.additional_count =
                static_cast<uint32_t>(z->additionals.size() - rs.additional_begin);
        }
        // The SOA as negative answers carry it: TTL lowered to the negative TTL (RFC 2308 3).
        const RRset* soa = z->find_rrset(z->nodes[0], dns::type::SOA);
        z->soa_negative.assign(z->images.begin() + soa->offset,
                               z->images.begin() + soa->offset + soa->length);
        dns::store_u32(&z->soa_negative[4], negative_ttl_);
        z->soa_fallback = z->soa_negative;
        dns::store_u32(&z->soa_fallback[4], std::min(negative_ttl_, kFallbackNodataTtl));

        assign_probes(*z);
        // Probe targets (a CheckDef each): not needed past here, and freed before the answer
        // sets and member tables are built beside them.
        pool_probes_ = {};
        if (has_errors(diags_)) return;
        z->geo = geo_;
        const auto region_count = static_cast<uint16_t>(region_names_.size());
        for (size_t i = 0; i < pools_.size(); ++i) {
            lb::Pool& pool = pools_[i];
            finish_pool(pool);
            pool.v4.table = lb::MemberTable::build(pool, pool.v4, pool_member_regions_[i]);
            pool.v6.table = lb::MemberTable::build(pool, pool.v6, pool_member_regions_[i]);
            if (pool.policy == lb::Policy::geo)
                pool.regions = lb::RegionPreferences::build(region_count, pool_region_lists_[i]);
        }
        z->pools = std::move(pools_);
        if (keys_) {
            std::string problem;
            if (!sign_zone(*z, *keys_, spec_.dnssec->signature_validity, sign_time_, problem)) {
                error(spec_.dnssec->keys.pos, "dnssec: cannot sign: " + problem);
                return;
            }
            z->keys = keys_;
            z->signature_validity = spec_.dnssec->signature_validity;
            z->keys_dir = keys_dir_;
            z->keys_dir_mtime_ns = keys_dir_mtime_ns_;
        }
        zone_ = std::move(z);
    }

    static void finish_pool(lb::Pool& pool) {
        pool.v4.rrtype = dns::type::A;
        pool.v4.image_size = lb::kImageSizeA;
        pool.v6.rrtype = dns::type::AAAA;
        pool.v6.image_size = lb::kImageSizeAAAA;
        // Sized exactly: at 100 000 members, push_back's doubling left a third of these
        // arrays unused for the life of the zone.
        size_t count[2] = {0, 0};
        for (const lb::Member& m : pool.members)
            if (m.enabled) ++count[m.family == 4 ? 0 : 1];
        for (lb::FamilySet* fs : {&pool.v4, &pool.v6}) {
            const size_t n = count[fs == &pool.v4 ? 0 : 1];
            fs->positions.reserve(n);
            fs->members.reserve(n);
            fs->slots.reserve(n);
            fs->images.reserve(n * fs->image_size);
        }
        for (uint32_t i = 0; i < pool.members.size(); ++i) {
            const lb::Member& m = pool.members[i];
            if (!m.enabled) continue;
            lb::FamilySet& fs = m.family == 4 ? pool.v4 : pool.v6;
            const uint16_t rdlen = m.family == 4 ? 4 : 16;
            fs.positions.push_back(static_cast<uint32_t>(fs.members.size()));
            fs.members.push_back(i);
            fs.slots.push_back(m.probe_slot);
            fs.probed |= m.probe_slot != health::kNoProbe;
            put_u16(fs.images, fs.rrtype);
            put_u16(fs.images, dns::klass::IN);
            put_u32(fs.images, pool.ttl);
            put_u16(fs.images, rdlen);
            fs.images.insert(fs.images.end(), m.address, m.address + rdlen);
        }
        // The degraded set differs only in the TTL: patch a copy.
        for (lb::FamilySet* fs : {&pool.v4, &pool.v6}) {
            if (pool.ttl_degraded == pool.ttl) continue;
            fs->degraded_images = fs->images;
            for (size_t off = 0; off < fs->degraded_images.size(); off += fs->image_size)
                dns::store_u32(&fs->degraded_images[off + 4], pool.ttl_degraded);
        }
    }

    const ZoneSpec& spec_;
    health::ProbeRegistry* registry_;
    // Parallel to pools_: (member index, probe) for each probed member only; a MemberProbe
    // is ~400 bytes, which every member of a 100 000-member zone used to carry to the end.
    std::vector<std::vector<std::pair<size_t, MemberProbe>>> pool_probes_;
    // Parallel to pools_: each member's region id (geo pools), and the "regions" lists by
    // client region id.
    std::vector<std::vector<uint16_t>> pool_member_regions_;
    std::vector<std::vector<std::vector<uint16_t>>> pool_region_lists_;
    std::vector<std::string> region_names_;  // by id
    std::map<std::string, uint16_t, std::less<>> region_ids_;
    bool too_many_regions_ = false;
    std::shared_ptr<lb::GeoConfig> geo_;  // shared with the pools once the zone is built
    RdfPtr origin_;
    Wire apex_;
    uint32_t serial_ = 0;
    uint32_t negative_ttl_ = 0;
    std::vector<Record> records_;
    // Apex NS names with the zone name twice (message, where): see add_line.
    std::vector<Located> ns_doubled_;
    std::vector<lb::Pool> pools_;
    std::vector<Wire> pool_owner_;
    std::vector<SourcePos> pool_pos_;
    std::map<Wire, NodeBuild> nodes_;
    std::shared_ptr<Zone> zone_;
    Diagnostics diags_;
    std::shared_ptr<ZoneKeys> keys_;  // "dnssec": null for an unsigned zone
    std::string keys_dir_;
    int64_t keys_dir_mtime_ns_ = 0;
    int64_t sign_time_ = static_cast<int64_t>(std::time(nullptr));
};

}  // namespace

CompileResult compile_zone(const ZoneSpec& spec, health::ProbeRegistry* probes) {
    return Compiler(spec, probes).run();
}

CompileResult load_zone(const std::string& path, health::ProbeRegistry* probes) {
    LoadResult loaded = load_zone_file(path);
    if (!loaded.ok()) return CompileResult{nullptr, std::move(loaded.diags)};
    return compile_zone(loaded.spec, probes);
}

}  // namespace steerdns::zone
