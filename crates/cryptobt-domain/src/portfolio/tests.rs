//! Hand-worked ledger cases.
