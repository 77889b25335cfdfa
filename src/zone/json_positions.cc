#include "steerdns/zone/json_positions.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <utility>

#include "steerdns/util/hex.h"

namespace steerdns::zone {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// nlohmann skips a UTF-8 byte order mark, so positions must start after it too.
size_t bom_length(std::string_view text) {
    return text.starts_with(kBom) ? kBom.size() : 0;
}

bool is_json_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Offset of the quote that closes the string of `text` whose contents start at `from` (text
// size if none). memchr because most of a zone file is strings.
size_t closing_quote(std::string_view text, size_t from) {
    const char* const begin = text.data();
    const char* const end = begin + text.size();
    for (const char* p = begin + from; p < end;) {
        const auto* q = static_cast<const char*>(std::memchr(p, '"', end - p));
        if (!q) break;
        const char* b = q;
        while (b > p && b[-1] == '\\') --b;
        // An even run of backslashes escapes itself, not the quote.
        if ((q - b) % 2 == 0) return q - begin;
        p = q + 1;
    }
    return text.size();
}

// How many values `text` has, i.e. the nodes scan() makes, counted without building anything
// so that the node array is allocated once at its size (grown by doubling, it was up to twice
// that, and three times while it moved): 1 for the root, 1 per object member (its ':') and 1
// per array element (the '[' of an array that is not empty, and each ',' in it).
size_t count_values(std::string_view text) {
    size_t count = 1;
    std::vector<bool> in_array;  // the containers open at i, innermost last
    for (size_t i = 0; i < text.size(); ++i) {
        switch (text[i]) {
            case '"':
                i = closing_quote(text, i + 1);
                break;
            case '{':
                in_array.push_back(false);
                break;
            case '[': {
                in_array.push_back(true);
                size_t next = i + 1;
                while (next < text.size() && is_json_space(text[next])) ++next;
                if (next < text.size() && text[next] != ']') ++count;
                break;
            }
            case ']':
            case '}':
                if (!in_array.empty()) in_array.pop_back();
                break;
            case ':':
                ++count;
                break;
            case ',':
                if (!in_array.empty() && in_array.back()) ++count;
                break;
            default:
                break;
        }
    }
    return count;
}

}  // namespace

TextPos text_pos_at(std::string_view text, size_t offset) {
    offset = std::min(offset, text.size());
    uint32_t line = 1;
    size_t line_start = std::min(bom_length(text), offset);
    for (size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return {offset, line, static_cast<uint32_t>(offset - line_start + 1)};
}

std::string json_quoted(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7F) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\u00";
            out += kHex[u >> 4];
            out += kHex[u & 0xF];
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

bool is_plain_path_key(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void append_path_key(std::string& path, std::string_view key) {
    if (is_plain_path_key(key)) {
        if (!path.empty()) path += '.';
        path += key;
    } else {
        path += '[';
        path += json_quoted(key);
        path += ']';
    }
}

void append_path_index(std::string& path, size_t index) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, index);
    path += '[';
    path.append(digits, end);
    path += ']';
}

// Iterative, so that deeply nested input cannot overflow the stack.
class JsonPositions::Scanner {
  public:
    Scanner(std::string_view text, JsonPositions& out)
        : text_(text), nodes_(out.nodes_), out_(out) {}

    void run() {
        i_ = line_start_ = bom_length(text_);
        skip_space();
        if (i_ >= text_.size()) return;
        nodes_.emplace_back().value = here();
        begin_value(0);
        while (!stack_.empty()) {
            skip_space();
            if (i_ >= text_.size()) return;
            const char c = text_[i_];
            if (c == '}' || c == ']') {
                ++i_;
                stack_.pop_back();
                continue;
            }
            const size_t start = i_;
            if (c == ',') {
                ++i_;
                skip_space();
            }
            // begin_value() may grow stack_, so `frame` is not used after it.
            Frame& frame = stack_.back();
            NodeId child;
            if (nodes_[frame.node].is_object) {
                const TextPos at = here();
                const std::string_view key = read_string();
                skip_space();
                if (peek() == ':') ++i_;
                skip_space();
                child = add_child(frame, {at.line, at.col}, key);
                check_duplicate(frame, child);
            } else {
                child = add_child(frame, {}, {});
            }
            begin_value(child);
            // Valid JSON always moves on; malformed input could otherwise loop forever.
            if (i_ == start) return;
        }
    }

  private:
    // Objects up to this size find a repeated key by comparing with their earlier members,
    // which spares the many small member objects a hash table each.
    static constexpr size_t kLinearSearchMembers = 8;

    struct Frame {
        NodeId node = kNone;
        NodeId last_child = kNone;
        uint32_t children = 0;
        // Once past linear search; the keys point where the nodes' do.
        std::unique_ptr<std::unordered_map<std::string_view, NodeId>> keys;
    };

    char peek() const { return i_ < text_.size() ? text_[i_] : '\0'; }

    TextPos here() const { return {i_, line_, static_cast<uint32_t>(i_ - line_start_ + 1)}; }

    // Valid JSON has newlines only between tokens (strings hold them escaped), so this is
    // the one place that has to count lines.
    void skip_space() {
        while (i_ < text_.size() && is_json_space(text_[i_])) {
            if (text_[i_] == '\n') {
                ++line_;
                line_start_ = i_ + 1;
            }
            ++i_;
        }
    }

    NodeId add_child(Frame& frame, KeyPos key_pos, std::string_view key) {
        const auto id = static_cast<NodeId>(nodes_.size());
        Node& node = nodes_.emplace_back();
        node.value = here();
        node.key = key_pos;
        node.key_text = key;
        node.parent = frame.node;
        node.index = frame.children++;
        if (frame.last_child == kNone) {
            nodes_[frame.node].first_child = id;
        } else {
            nodes_[frame.last_child].next_sibling = id;
        }
        frame.last_child = id;
        return id;
    }

    void check_duplicate(Frame& frame, NodeId id) {
        const std::string_view key = nodes_[id].key_text;
        NodeId earlier = kNone;
        if (frame.keys) {
            const auto [it, inserted] = frame.keys->try_emplace(key, id);
            if (!inserted) earlier = std::exchange(it->second, id);
        } else {
            for (NodeId c = nodes_[frame.node].first_child; c != id; c = nodes_[c].next_sibling) {
                if (!nodes_[c].superseded && nodes_[c].key_text == key) {
                    earlier = c;
                    break;
                }
            }
        }
        if (earlier != kNone) {
            nodes_[earlier].superseded = true;
            out_.duplicates_.push_back({id, earlier});
        }
        if (!frame.keys && frame.children > kLinearSearchMembers) {
            frame.keys = std::make_unique<std::unordered_map<std::string_view, NodeId>>();
            for (NodeId c = nodes_[frame.node].first_child; c != kNone;
                 c = nodes_[c].next_sibling) {
                if (!nodes_[c].superseded) frame.keys->emplace(nodes_[c].key_text, c);
            }
        }
    }

    void begin_value(NodeId id) {
        const char c = peek();
        if (c == '{' || c == '[') {
            nodes_[id].is_object = c == '{';
            nodes_[id].is_array = c == '[';
            stack_.emplace_back().node = id;
            ++i_;
        } else if (c == '"') {
            skip_string();
        } else {
            // Numbers and literals end at the next delimiter.
            while (i_ < text_.size()) {
                const char d = text_[i_];
                if (is_json_space(d) || d == ',' || d == ']' || d == '}' || d == ':') break;
                ++i_;
            }
        }
    }

    size_t closing_quote(size_t from) const { return zone::closing_quote(text_, from); }

    void skip_string() { i_ = std::min(closing_quote(i_ + 1) + 1, text_.size()); }

    // Decodes like nlohmann does, so that `"\u0070olicy"` and `"policy"` are the same key.
    // A key without escapes is a view of the text; a decoded one is kept in decoded_keys_.
    std::string_view read_string() {
        if (peek() != '"') return {};
        ++i_;
        const size_t start = i_;
        const size_t close = closing_quote(start);
        const std::string_view raw = text_.substr(start, close - start);
        if (raw.find('\\') == std::string_view::npos) {
            i_ = std::min(close + 1, text_.size());
            return raw;
        }
        return out_.decoded_keys_.emplace_back(decode_string(start));
    }

    // The contents of the string that start at `start` (where i_ is), decoded; i_ ends past
    // the closing quote.
    std::string decode_string(size_t start) {
        while (i_ < text_.size() && text_[i_] != '\\') ++i_;
        std::string out(text_.substr(start, i_ - start));
        while (i_ < text_.size()) {
            const char c = text_[i_++];
            if (c == '"') return out;
            if (c != '\\') {
                out += c;
                continue;
            }
            const char e = peek();
            ++i_;
            switch (e) {
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp = read_hex4();
                    // nlohmann accepts a high surrogate only when a low one follows.
                    if (cp >= 0xD800 && cp <= 0xDBFF && peek() == '\\' && i_ + 1 < text_.size() &&
                        text_[i_ + 1] == 'u') {
                        i_ += 2;
                        const uint32_t low = read_hex4();
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    out += e;
                    break;  // '"', '\\' and '/'
            }
        }
        return out;
    }

    uint32_t read_hex4() {
        uint32_t v = 0;
        for (int n = 0; n < 4 && i_ < text_.size(); ++n, ++i_) {
            v = v * 16 + static_cast<uint32_t>(std::max(util::hex_digit(text_[i_]), 0));
        }
        return v;
    }

    std::string_view text_;
    std::vector<Node>& nodes_;
    JsonPositions& out_;
    size_t i_ = 0;
    uint32_t line_ = 1;
    size_t line_start_ = 0;
    std::vector<Frame> stack_;
};

JsonPositions JsonPositions::scan(std::string_view text) {
    JsonPositions positions;
    positions.nodes_.reserve(count_values(text));
    Scanner(text, positions).run();
    return positions;
}

std::string JsonPositions::path(NodeId id) const {
    std::vector<NodeId> chain;
    for (NodeId n = id; n != kNone && nodes_[n].parent != kNone; n = nodes_[n].parent) {
        chain.push_back(n);
    }
    std::string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        const Node& n = nodes_[*it];
        if (nodes_[n.parent].is_object) {
            append_path_key(out, n.key_text);
        } else {
            append_path_index(out, n.index);
        }
    }
    return out;
}

}  // namespace steerdns::zone
