pub use walden_core;
