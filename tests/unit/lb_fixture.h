// Pools for the policy tests: members from address text, the family's MemberTable, and
// eligible positions, without going through a zone file.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "steerdns/lb/candidates.h"
#include "steerdns/lb/client_net.h"

namespace steerdns::test {

struct MemberSpec {
    std::string address;
    uint32_t weight = 1;
    int32_t priority = 0;
    uint16_t region = lb::kNoRegion;
};

// Candidates that own their eligible positions; converts to lb::Candidates for the policies.
struct OwnedCandidates {
    const lb::MemberTable* table = nullptr;
    std::vector<uint32_t> eligible;

    operator lb::Candidates() const { return {table, eligible}; }
};

// One address family of a pool (the family of the first member; others are ignored).
struct Family {
    lb::Pool pool;
    lb::MemberTable table;
    std::vector<uint32_t> all;  // every position

    lb::Candidates everyone() const { return {&table, all}; }
    // Only `up` (ascending positions) eligible.
    OwnedCandidates only(const std::vector<uint32_t>& up) const { return {&table, up}; }
    // Every position but `down` (ascending).
    std::vector<uint32_t> without(uint32_t down) const {
        std::vector<uint32_t> v;
        for (uint32_t p : all)
            if (p != down) v.push_back(p);
        return v;
    }
    const std::string& address_at(uint32_t position) const {
        const lb::FamilySet& fs = pool.members.front().family == 6 ? pool.v6 : pool.v4;
        return pool.members[fs.members[position]].address_text;
    }
};

inline Family make_family(const std::vector<MemberSpec>& specs) {
    Family f;
    std::vector<uint16_t> regions;
    for (const MemberSpec& s : specs) {
        lb::Member m;
        m.address_text = s.address;
        if (inet_pton(AF_INET, s.address.c_str(), m.address) == 1) {
            m.family = 4;
        } else {
            inet_pton(AF_INET6, s.address.c_str(), m.address);
            m.family = 6;
        }
        m.weight = s.weight;
        m.priority = s.priority;
        lb::FamilySet& fs = m.family == 6 ? f.pool.v6 : f.pool.v4;
        fs.members.push_back(static_cast<uint32_t>(f.pool.members.size()));
        f.pool.members.push_back(m);
        regions.push_back(s.region);
    }
    const lb::FamilySet& fs = f.pool.members.front().family == 6 ? f.pool.v6 : f.pool.v4;
    f.table = lb::MemberTable::build(f.pool, fs, regions);
    for (uint32_t i = 0; i < f.table.size(); ++i) f.all.push_back(i);
    return f;
}

// n IPv4 members 10.0.x.y, weight 1.
inline std::vector<MemberSpec> numbered_members(uint32_t n) {
    std::vector<MemberSpec> v;
    for (uint32_t i = 0; i < n; ++i)
        v.push_back({"10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)});
    return v;
}

inline lb::Client ipv4_client(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    lb::Client client;
    client.family = 4;
    const uint8_t bytes[4] = {a, b, c, d};
    std::memcpy(client.address, bytes, 4);
    return client;
}

inline std::vector<uint32_t> positions(const lb::Selection& s) {
    return std::vector<uint32_t>(s.index.begin(), s.index.begin() + s.count);
}

}  // namespace steerdns::test
