// ZoneDir with several files for one zone: which one serves, at start and across reloads,
// and that the zone never goes off the air while a valid file for it exists.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "helpers.h"
#include "steerdns/server/zone_dir.h"

using namespace steerdns;
using namespace steerdns::test;

namespace {

namespace fs = std::filesystem;

std::string served_file(const server::ZoneDir& zd) {
    const auto zones = zd.zones();
    REQUIRE(zones.size() == 1);
    return zones[0]->file;
}

std::string other_zone_json() {
    return R"({"zone": "other.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1},
      "ns": ["ns1.example."], "pools": {"w": {"policy": "all", "members": [
        {"address": "192.0.2.1"}]}}})";
}

}  // namespace

TEST_CASE("zone dir: two files for one zone: the first in name order at start") {
    TempDir dir;
    dir.write("b.json", example_zone_json());
    dir.write("a.json", example_zone_json());
    server::ZoneDir zd(dir.path.string());
    const server::ReloadReport r = zd.refresh();
    CHECK(r.loaded == 1);
    CHECK(r.failed == 1);
    CHECK(served_file(zd) == dir.file("a.json"));
    REQUIRE(r.files.size() == 2);
    CHECK(r.files[1].file == dir.file("b.json"));
    CHECK_FALSE(r.files[1].ok);
    CHECK(r.files[1].zone == "lb.example.test.");
}

TEST_CASE("zone dir: the serving file goes: the other file takes over in the same reload") {
    TempDir dir;
    dir.write("a.json", example_zone_json());
    server::ZoneDir zd(dir.path.string());
    zd.refresh();
    dir.write("b.json", example_zone_json());
    server::ReloadReport r = zd.refresh();
    CHECK(r.failed == 1);
    CHECK(served_file(zd) == dir.file("a.json"));

    fs::remove(dir.path / "a.json");
    r = zd.refresh();
    CHECK(r.removed == 1);
    CHECK(r.loaded == 1);
    CHECK(r.changed);
    CHECK(served_file(zd) == dir.file("b.json"));

    // a.json back, and a forced reload of everything: the file serving now keeps serving.
    dir.write("a.json", example_zone_json());
    r = zd.refresh(server::ZoneDir::Settle::no, true);
    CHECK(r.failed == 1);
    CHECK(served_file(zd) == dir.file("b.json"));
}

TEST_CASE("zone dir: the serving file changes to another zone: the other file takes over") {
    TempDir dir;
    dir.write("a.json", example_zone_json());
    dir.write("b.json", example_zone_json());
    server::ZoneDir zd(dir.path.string());
    zd.refresh();
    dir.write("a.json", other_zone_json());
    const server::ReloadReport r = zd.refresh(server::ZoneDir::Settle::no, true);
    CHECK(r.failed == 0);
    const auto zones = zd.zones();
    REQUIRE(zones.size() == 2);
    std::set<std::string> files;
    for (const auto& z : zones) files.insert(z->apex_text() + " " + z->file);
    CHECK(files == std::set<std::string>{"lb.example.test. " + dir.file("b.json"),
                                         "other.test. " + dir.file("a.json")});
}
