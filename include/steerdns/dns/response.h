// Builds a response in a caller-owned buffer: header and question copied from the query as
// received (so the client's 0x20 case survives), records appended from pre-rendered images,
// names compressed against names already in the message, an OPT record last.
// No allocation: the writer is a few words on the stack over the caller's span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "steerdns/dns/query.h"
#include "steerdns/dns/wire.h"

namespace steerdns::dns {

enum class Section : uint8_t { answer = 0, authority = 1, additional = 2 };

class ResponseWriter {
  public:
    // `out` must hold at least kHeaderSize + the question; `limit` is the largest message the
    // client accepts (512, its EDNS size, or 65535 over TCP), capped to out.size().
    ResponseWriter(std::span<uint8_t> out, size_t limit);

    // Copies header and (when q.has_question) the question from `packet`; sets QR, keeps
    // opcode, RD and CD, clears everything else.
    void begin(std::span<const uint8_t> packet, const Query& q);

    void set_rcode(Rcode rcode) { rcode_ = rcode; }
    void set_aa(bool on) { aa_ = on; }
    Rcode rcode() const { return rcode_; }

    // Appends one record: owner written as a pointer to `owner_offset` (a name already in the
    // message), then `image` = TYPE CLASS TTL RDLENGTH RDATA. Returns false if it does not fit.
    // When `rdata_name` is set, the RDATA is (or begins with) an uncompressed name the writer
    // remembers so later owners can point into it.
    bool add_rr(Section s, uint16_t owner_offset, const uint8_t* image, size_t len,
                const uint8_t* rdata_name = nullptr, size_t rdata_name_len = 0);

    // Like add_rr, with `owner` a lowercased wire name compressed against known names.
    bool add_rr_named(Section s, std::span<const uint8_t> owner, const uint8_t* image, size_t len,
                      const uint8_t* rdata_name = nullptr, size_t rdata_name_len = 0);

    // How much of a name already stands in the message, for compression: the longest suffix
    // of `name` (on a label boundary) that ends one of the names the writer knows (question,
    // rdata names, owners spelled out). Used to point owners at names already written.
    struct NameMatch {
        static constexpr uint16_t kNone = 0xFFFF;
        uint16_t from = kNone;  // where the known suffix starts in `name`; kNone: none is
        uint16_t offset = 0;    // where it stands in the message
        bool found() const { return from != kNone; }
        bool whole() const { return from == 0; }
    };
    NameMatch find_name(std::span<const uint8_t> name) const;

    // Offset of the rdata name registered by the last add_rr with rdata_name.
    uint16_t last_rdata_name_offset() const { return last_rdata_name_; }

    // State to roll back to, e.g. when an additional record does not fit.
    struct Mark {
        size_t pos;
        uint16_t count[3];
        uint8_t known;
    };
    Mark mark() const { return {pos_, {count_[0], count_[1], count_[2]}, known_count_}; }
    void rollback(const Mark& m);

    // Drops every record and sets TC: what NSD and Knot send when the answer does not fit.
    void truncate();
    bool truncated() const { return tc_; }

    // Writes counts and flags, appends OPT when the query had one (with `ecs_scope` in the
    // echoed ECS option), and returns the message length. When the query asked for NSID and
    // `nsid` is not empty, the OPT carries it if it fits in the room the records left: the
    // identifier never displaces an answer record.
    size_t finish(const Query& q, uint16_t our_udp_size, uint8_t ecs_scope,
                  std::span<const uint8_t> nsid = {});

    uint16_t count(Section s) const { return count_[static_cast<int>(s)]; }

  private:
    struct Known {
        uint16_t offset;  // where the name starts in the message
        uint8_t len;
        const uint8_t* name;  // lowercased copy of the bytes at offset, in stable memory
    };
    static constexpr size_t kMaxKnown = 24;

    void remember(uint16_t offset, const uint8_t* name, size_t len);
    bool write_rr_tail(Section s, const uint8_t* image, size_t len, const uint8_t* rdata_name,
                       size_t rdata_name_len);

    std::span<uint8_t> out_;
    size_t limit_;          // for records: the message limit minus room for our OPT
    size_t message_limit_;  // the whole message's: what an NSID option must fit in
    size_t pos_ = 0;
    size_t question_end_ = kHeaderSize;
    uint16_t count_[3] = {0, 0, 0};
    Known known_[kMaxKnown];
    uint8_t known_count_ = 0;
    uint16_t last_rdata_name_ = 0;
    Rcode rcode_ = Rcode::noerror;
    bool aa_ = false;
    bool tc_ = false;
};

}  // namespace steerdns::dns
