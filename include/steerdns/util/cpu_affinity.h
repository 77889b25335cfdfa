// CPU placement of steerdns's threads, as NSD's cpu-affinity / xfrd-cpu-affinity: answering
// cores can be kept free of probing, which on a busy box matters more than any code path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace steerdns::util {

// Parses "1", "0,2", "0-3,6": CPU numbers as `taskset -c` takes them. False with a message
// naming the bad part.
bool parse_cpu_list(std::string_view text, std::vector<unsigned>& cpus, std::string& error);

// Pins the calling thread to `cpu`; logs a warning and leaves it unpinned if the kernel
// refuses (a CPU outside the process's cpuset).
void pin_current_thread(unsigned cpu, const char* what);
// Pins the calling thread to every CPU in `cpus` (any of them); nothing when empty.
void pin_current_thread(const std::vector<unsigned>& cpus, const char* what);

}  // namespace steerdns::util
