//! The debug build's fault switch (`HULL_FAULT`, src/container/fault.rs).

use super::skip;

/// Whether the runtime under test has the fault switch: only hull's debug build has it, another
/// runtime (HULL_TEST_BIN) has none, and then the test says why it skips. Call, then return
/// from the test if false.
pub fn fault_switch() -> bool {
    if std::env::var_os("HULL_TEST_BIN").is_some() {
        skip("HULL_TEST_BIN is set: the fault switch (HULL_FAULT) is hull's debug build's");
        return false;
    }
    true
}
