//! User-space access to netatop: the getsockopt commands of the kernel
//! module (`include/netatop.h`, [`Control`]), the log netatopd writes and
//! atop reads (`include/netatopd.h`, [`log`]) and the System V semaphores
//! they coordinate through ([`sem`]).
//!
//! Used by netatopd and by the tests; the ABI structures are those of the
//! module's own logic crate.

mod control;
pub mod log;
pub mod sem;

pub use control::Control;
pub use netatop_logic::abi::{self, NetPerTask, TaskCount, NETPERTASK_SIZE};
