//! A block device on the simulated disk: [`SimBlocks`] presents one file of
//! a [`SimDisk`] as a device of 512-byte blocks for a
//! [`walden_core::blockdev::Volume`], so the block-device storage is tested
//! under the same power cuts as the file storage (`tests/block_device.rs`).
//!
//! Every block write is one `write_at` of 512 bytes at a multiple of 512,
//! so a crash with [`crate::sim::Crash::PowerLoss`]` { sector: 512 }` keeps,
//! drops, zeroes or fills with garbage whole blocks, as a card or an eMMC
//! part may; `flush` is the file's `sync` (until it, writes are pending and
//! may be lost).

use walden_core::blockdev::{BlockDevice, BLOCK};
use walden_core::storage::Storage;
use walden_core::FileKind;

use crate::sim::{SimDisk, SimError, SimFile};

/// `blocks` blocks of 512 bytes stored in the database file of a
/// [`SimDisk`] (the disk's WAL file is unused). Blocks past the file's end
/// read as zeros.
#[derive(Debug, Clone)]
pub struct SimBlocks {
    file: SimFile,
    blocks: u32,
}

impl SimBlocks {
    /// A device of `blocks` blocks on `disk`.
    pub fn new(disk: &SimDisk, blocks: u32) -> SimBlocks {
        SimBlocks {
            file: disk.file(FileKind::Database),
            blocks,
        }
    }

    fn check(&self, lba: u32) -> Result<u64, SimError> {
        if lba >= self.blocks {
            return Err(SimError::OutOfRange);
        }
        Ok(u64::from(lba) * BLOCK as u64)
    }
}

impl BlockDevice for SimBlocks {
    type Error = SimError;
    fn read_block(&mut self, lba: u32, buf: &mut [u8; BLOCK]) -> Result<(), SimError> {
        let at = self.check(lba)?;
        let n = self.file.read_at(at, buf)?;
        buf[n..].fill(0);
        Ok(())
    }
    fn write_block(&mut self, lba: u32, buf: &[u8; BLOCK]) -> Result<(), SimError> {
        let at = self.check(lba)?;
        self.file.write_at(at, buf)
    }
    fn flush(&mut self) -> Result<(), SimError> {
        self.file.sync()
    }
    fn block_count(&mut self) -> Result<u32, SimError> {
        Ok(self.blocks)
    }
}
