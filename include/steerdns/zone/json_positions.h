// Where each value of a JSON text was written. nlohmann 3.11 keeps no positions in its DOM
// (it reports a byte offset only for syntax errors), so JsonReader (json_reader.h) makes this
// second, much simpler pass over text that nlohmann has already accepted, and walks the
// resulting tree next to the DOM.
//
// The tree stores each key once, not each value's full json.path: paths would make time and
// memory grow with depth times size, which a file of 200 000 nested '[' turns into gigabytes.
// Paths are built by the caller while it walks (or by path() for the odd message).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace steerdns::zone {

// A byte offset into the text with its 1-based line and byte column (0/0 when unknown).
struct TextPos {
    size_t offset = 0;
    uint32_t line = 0;
    uint32_t col = 0;
};

// line:col of `offset`, which may be text.size() (the end of input). Linear in `offset`: meant
// for the one syntax error of a file, not for every value. A leading UTF-8 byte order mark is
// not counted in columns, since editors do not show it.
TextPos text_pos_at(std::string_view text, size_t offset);

// `s` in double quotes with `"`, `\` and control characters escaped as in JSON, for messages
// and paths that must stay readable (and unambiguous) whatever the operator typed.
std::string json_quoted(std::string_view s);

// json.path syntax: members are `.key` (no dot at the root) when the key is [A-Za-z0-9_-]+,
// else `["key"]`; elements are `[i]`. Examples: `soa.serial`, `ns[1]`, `pools["api.eu"].ttl`.
// The root is "".
bool is_plain_path_key(std::string_view key);
void append_path_key(std::string& path, std::string_view key);
void append_path_index(std::string& path, size_t index);

class JsonPositions {
  public:
    using NodeId = uint32_t;
    static constexpr NodeId kNone = std::numeric_limits<NodeId>::max();

    // Where a key was written (its opening quote); line 0 for array elements and the root.
    struct KeyPos {
        uint32_t line = 0;
        uint32_t col = 0;
    };

    // One JSON value. Children of an object or array are linked in file order. 64 bytes: a
    // zone of 100 000 members has ~250 000 of them, all alive while the file is read.
    struct Node {
        TextPos value;  // first byte of the value
        KeyPos key;
        // Decoded as nlohmann decodes it; empty for elements. Points into the scanned text
        // (keys without escapes, nearly all) or into the JsonPositions (decoded ones).
        std::string_view key_text;
        NodeId parent = kNone;
        NodeId first_child = kNone;
        NodeId next_sibling = kNone;
        uint32_t index = 0;  // among the parent's children, counting superseded members
        bool is_object = false;
        bool is_array = false;
        // A later member of the same object has the same key. nlohmann keeps only the last
        // value, so walkers skip superseded members to stay in step with the DOM.
        bool superseded = false;
    };

    struct DuplicateKey {
        NodeId member;  // the repeated occurrence (its key position is where to report)
        NodeId first;   // the occurrence it repeats
    };

    // `text` must be JSON that nlohmann accepted: syntax is not checked again (malformed input
    // gives an incomplete tree but is never read out of bounds). Linear time and memory. The
    // keys point into `text`, which must outlive the JsonPositions.
    static JsonPositions scan(std::string_view text);

    JsonPositions() = default;
    JsonPositions(JsonPositions&&) = default;
    JsonPositions& operator=(JsonPositions&&) = default;
    // A copy's keys would point into the original's decoded_keys_.
    JsonPositions(const JsonPositions&) = delete;
    JsonPositions& operator=(const JsonPositions&) = delete;

    NodeId root() const { return nodes_.empty() ? kNone : 0; }
    const Node& node(NodeId id) const { return nodes_[id]; }
    size_t size() const { return nodes_.size(); }

    // json.path of a node, by walking up to the root: O(depth), for messages.
    std::string path(NodeId id) const;

    // In file order of the repeated occurrences.
    const std::vector<DuplicateKey>& duplicate_keys() const { return duplicates_; }

  private:
    class Scanner;

    std::vector<Node> nodes_;  // reserved from a count of the text's values: no doubling
    std::vector<DuplicateKey> duplicates_;
    std::deque<std::string> decoded_keys_;  // keys written with escapes (a deque: stable)
};

}  // namespace steerdns::zone
