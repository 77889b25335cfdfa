#include "steerdns/util/cpu_affinity.h"

#include <pthread.h>
#include <sched.h>

#include <charconv>
#include <cstring>

#include "steerdns/util/log.h"

namespace steerdns::util {

namespace {

bool parse_cpu(std::string_view text, unsigned& cpu) {
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, cpu);
    return ec == std::errc() && p == end && cpu < CPU_SETSIZE;
}

void pin(const std::vector<unsigned>& cpus, const char* what) {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::string list;
    for (unsigned c : cpus) {
        CPU_SET(c, &set);
        if (!list.empty()) list += ',';
        list += std::to_string(c);
    }
    const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0)
        log_warn("cannot pin thread; it runs on any CPU",
                 {{"thread", what}, {"cpus", list}, {"error", std::strerror(rc)}});
}

}  // namespace

bool parse_cpu_list(std::string_view text, std::vector<unsigned>& cpus, std::string& error) {
    cpus.clear();
    if (!text.empty() && text.back() == ',') {
        error = "CPU list ends with a comma";
        return false;
    }
    while (!text.empty()) {
        const size_t comma = text.find(',');
        const std::string_view part = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const size_t dash = part.find('-');
        unsigned first = 0;
        unsigned last = 0;
        const bool ok = dash == std::string_view::npos
                            ? parse_cpu(part, first) && ((last = first), true)
                            : parse_cpu(part.substr(0, dash), first) &&
                                  parse_cpu(part.substr(dash + 1), last) && first <= last;
        if (!ok) {
            error = "bad CPU list part \"";
            error += part;
            error += "\" (expected e.g. 1 or 0,2 or 0-3)";
            return false;
        }
        for (unsigned c = first; c <= last; ++c) cpus.push_back(c);
    }
    if (cpus.empty()) {
        error = "empty CPU list";
        return false;
    }
    return true;
}

void pin_current_thread(unsigned cpu, const char* what) {
    pin(std::vector<unsigned>{cpu}, what);
}

void pin_current_thread(const std::vector<unsigned>& cpus, const char* what) {
    if (!cpus.empty()) pin(cpus, what);
}

}  // namespace steerdns::util
