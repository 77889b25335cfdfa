# Precompiled headers (STEERDNS_PCH, on by default with clang: the sanitizer tree): most of the
# ~160 files are small, and each parsed the same standard headers (30 of them nlohmann/json too)
# before its own code: 1 to 3 s of CPU each, of 2 to 8 s (a unit test 5.1 s -> 1.9 s).
#
# Only standard and third-party headers: a header of ours here would reach every layer, below
# its own too (tests/layering.py). Each file still includes what it uses, so a build with
# -DSTEERDNS_PCH=OFF checks that.
#
# One precompiled header serves every target compiled with the same options: it is built once,
# by an empty object library (the "donor"), before any file that uses it. A compiler refuses a
# header precompiled at another optimisation level or sanitizer coverage (the sanitizer tree's
# -O0 targets, the ones without the fuzzers' coverage), so targets are grouped by their options;
# warnings and definitions do not matter to it.

# In most files of every layer.
set(steerdns_pch_std
    <algorithm> <array> <atomic> <cstddef> <cstdint> <cstring> <functional> <map> <memory>
    <optional> <span> <string> <string_view> <unordered_map> <utility> <vector>)
# nlohmann/json is in 30 files (control, cli, server, the zone reader, 7 unit tests). clang loads
# a precompiled header lazily, so files that do not use json pay nothing for it; g++ (with
# -DSTEERDNS_PCH=ON) loads all of it into every file, a second each for the json part.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  list(APPEND steerdns_pch_std <nlohmann/json.hpp>)
endif()

# CONFIGURE: rewritten only when it changes, so a reconfigure rebuilds nothing.
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/pch_donor.cc
     CONTENT "// The donor of a precompiled header: no code.\n")

# steerdns_pch(NAME HEADERS <h>... LIBS <lib>... TARGETS <target>...): the targets (those that
# exist) reuse a header precompiled from HEADERS, one per set of compile options; LIBS provide
# the headers' include directories.
function(steerdns_pch name)
  cmake_parse_arguments(P "" "" "HEADERS;LIBS;TARGETS" ${ARGN})
  set(keys "")
  foreach(target ${P_TARGETS})
    if(NOT TARGET ${target})
      continue()
    endif()
    get_target_property(options ${target} COMPILE_OPTIONS)
    if(NOT options)
      set(options "")
    endif()
    list(FILTER options EXCLUDE REGEX "^-W")
    list(SORT options)
    string(JOIN " " key "options:" ${options})  # never empty: an empty list item would vanish
    list(FIND keys "${key}" index)
    if(index EQUAL -1)
      list(LENGTH keys index)
      list(APPEND keys "${key}")
      set(donor steerdns_pch_${name}${index})
      add_library(${donor} OBJECT ${CMAKE_BINARY_DIR}/pch_donor.cc)
      target_compile_options(${donor} PRIVATE ${options})
      target_link_libraries(${donor} PRIVATE ${P_LIBS})
      target_precompile_headers(${donor} PRIVATE ${P_HEADERS})
    endif()
    target_precompile_headers(${target} REUSE_FROM steerdns_pch_${name}${index})
    # A file compiled with options of its own (the unit tests' -O1 exceptions) cannot use it.
    get_target_property(sources ${target} SOURCES)
    foreach(source ${sources})
      get_source_file_property(own ${source} TARGET_DIRECTORY ${target} COMPILE_OPTIONS)
      if(own)
        set_source_files_properties(${source} TARGET_DIRECTORY ${target}
                                    PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
      endif()
    endforeach()
  endforeach()
endfunction()

steerdns_pch(lib HEADERS ${steerdns_pch_std} LIBS nlohmann_json::nlohmann_json
             TARGETS steerdns_util steerdns_dns steerdns_health steerdns_lb steerdns_dnssec
                     steerdns_zone steerdns_answer steerdns_control steerdns_server steerdns_cli
                     steerdns steerdns_alloc_tests steerdns_fuzz_world fuzz_query fuzz_zone
                     fuzz_ecs)
# The unit tests: doctest (not in the libraries' set: its CHECK, INFO, WARN... macros would reach
# their code) and what the test files include most besides.
if(TARGET steerdns_tests)
  find_package(doctest REQUIRED)  # tests/CMakeLists.txt's is not visible here
  steerdns_pch(test
               HEADERS ${steerdns_pch_std} <doctest/doctest.h> <filesystem> <fstream> <set>
               LIBS nlohmann_json::nlohmann_json doctest::doctest TARGETS steerdns_tests)
  # It defines DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN before including doctest.
  set_source_files_properties(${CMAKE_SOURCE_DIR}/tests/unit/main.cc TARGET_DIRECTORY
                              steerdns_tests PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
endif()
