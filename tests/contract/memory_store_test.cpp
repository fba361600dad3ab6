// The store contract against InMemoryStore.
#include "contract/store_contract.hpp"

namespace {
struct MemoryStoreFactory {
    std::unique_ptr<chatkit::Store<test::Ctx>> make() {
        return std::make_unique<chatkit::InMemoryStore<test::Ctx>>([](test::Ctx const& c) { return c.user; });
    }
};
}  // namespace

TEST_CASE("InMemoryStore keeps the store contract", "[store][contract]") {
    test::contract::run_store_contract<MemoryStoreFactory>();
}
