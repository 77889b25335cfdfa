#include "steerdns/lb/policy_hash.h"

#include <array>

#include "steerdns/lb/hash64.h"
#include "steerdns/lb/hash_rank.h"

namespace steerdns::lb {

using namespace hash_rank;

void select_hash(const Candidates& c, uint32_t answers, const ClientNet& subnet, Selection& out) {
    out.rotated = false;
    out.count = 0;
    out.ecs_scope = subnet.prefix;
    const MemberTable& t = *c.table;
    const uint32_t limit = answer_limit(answers);
    const uint64_t client_key = hash_address(subnet.family, subnet.prefix, subnet.address);

    std::array<Scored, kMaxAnswers> top;
    uint32_t count = 0;
    if (t.hash_buckets.empty()) {
        count = rank(
            t, c.eligible, limit,
            [&](uint32_t position) { return rendezvous_hash(client_key, t.address_key[position]); },
            top);
    } else {
        // The bucket's ranking, skipping members not eligible; its first `limit` eligible are
        // the answer unless fewer than that are among the kDepth kept.
        const uint32_t bucket = bucket_of(client_key);
        const uint16_t* ranked = t.hash_buckets.bucket(bucket);
        for (uint32_t i = 0; i < HashBuckets::kDepth && count < limit; ++i)
            if (c.contains(ranked[i])) out.index[count++] = ranked[i];
        if (count == limit) {
            out.count = count;
            return;
        }
        count = rank_bucket(t, c.eligible, bucket, limit, top);
    }
    for (uint32_t i = 0; i < count; ++i) out.index[i] = top[i].position;
    out.count = count;
}

}  // namespace steerdns::lb
