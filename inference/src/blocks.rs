//! The paged KV cache's bookkeeping: a fixed pool of block ids and each sequence's block table.
//!
//! The model owns the cache memory; this module only decides which block ids a sequence holds.
//! Invariant: a block id is held by at most one [`BlockTable`] at a time, and every id handed out
//! comes back to the pool exactly once.

/// A fixed pool of cache block ids `0..num_blocks` with a free list.
#[derive(Debug, Clone)]
pub struct BlockAllocator {
    /// Ids ready to hand out; popped from the end.
    free: Vec<u32>,
    /// `in_use[id]` is true while the block is handed out.
    in_use: Vec<bool>,
}

impl BlockAllocator {
    /// A pool of `num_blocks` free blocks.
    pub fn new(num_blocks: usize) -> Self {
        let top = u32::try_from(num_blocks).expect("block count fits in u32");
        // Reversed so that blocks are handed out in ascending order (easier to read in logs).
        let free = (0..top).rev().collect();
        Self {
            free,
            in_use: vec![false; num_blocks],
        }
    }

    /// Blocks in the pool.
    pub fn num_total(&self) -> usize {
        self.in_use.len()
    }

    /// Blocks ready to hand out.
    pub fn num_free(&self) -> usize {
        self.free.len()
    }

    /// Hands out `n` blocks, or none at all (and `None`) when fewer than `n` are free.
    pub fn allocate(&mut self, n: usize) -> Option<Vec<u32>> {
        if n > self.free.len() {
            return None;
        }
        let mut blocks = self.free.split_off(self.free.len() - n);
        blocks.reverse();
        for &block in &blocks {
            let slot = &mut self.in_use[block as usize];
            debug_assert!(!*slot, "block {block} handed out twice");
            *slot = true;
        }
        Some(blocks)
    }

    /// Returns blocks to the pool.
    ///
    /// # Panics
    /// When a block is not currently handed out: that is a bookkeeping bug that would otherwise
    /// let two sequences share cache memory.
    pub fn free(&mut self, blocks: &[u32]) {
        for &block in blocks {
            let slot = self
                .in_use
                .get_mut(block as usize)
                .unwrap_or_else(|| panic!("block {block} is not from this pool"));
            assert!(*slot, "block {block} freed while not in use");
            *slot = false;
            self.free.push(block);
        }
    }

    /// Whether `block` is currently handed out.
    pub fn is_in_use(&self, block: u32) -> bool {
        self.in_use.get(block as usize).copied().unwrap_or(false)
    }
}

/// Blocks needed to hold `n_positions` positions.
pub fn blocks_for(n_positions: usize, block_size: usize) -> usize {
    n_positions.div_ceil(block_size)
}

/// The cache blocks of one sequence, in position order: position `p` lives in
/// `blocks()[p / block_size]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockTable {
    blocks: Vec<u32>,
}

impl BlockTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The block ids, in position order.
    pub fn blocks(&self) -> &[u32] {
        &self.blocks
    }

    /// Positions the table can hold.
    pub fn capacity(&self, block_size: usize) -> usize {
        self.blocks.len() * block_size
    }

    /// Extra blocks needed before the table holds `n_positions` positions.
    pub fn missing_for(&self, n_positions: usize, block_size: usize) -> usize {
        blocks_for(n_positions, block_size).saturating_sub(self.blocks.len())
    }

    /// Grows the table to hold `n_positions` positions; on failure nothing is allocated and the
    /// table is unchanged.
    pub fn grow_to(
        &mut self,
        n_positions: usize,
        block_size: usize,
        allocator: &mut BlockAllocator,
    ) -> bool {
        let missing = self.missing_for(n_positions, block_size);
        if missing == 0 {
            return true;
        }
        match allocator.allocate(missing) {
            Some(blocks) => {
                self.blocks.extend(blocks);
                true
            }
            None => false,
        }
    }

    /// Gives every block back to the pool and empties the table.
    pub fn release(&mut self, allocator: &mut BlockAllocator) {
        allocator.free(&self.blocks);
        self.blocks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_all_or_nothing_and_never_twice() {
        let mut pool = BlockAllocator::new(5);
        let a = pool.allocate(3).expect("3 of 5 free");
        assert_eq!(a, vec![0, 1, 2]);
        assert!(pool.allocate(3).is_none());
        assert_eq!(pool.num_free(), 2);
        let b = pool.allocate(2).expect("2 of 2 free");
        assert!(a.iter().all(|block| !b.contains(block)));
        assert_eq!(pool.num_free(), 0);
        pool.free(&a);
        assert_eq!(pool.num_free(), 3);
        assert!(!pool.is_in_use(1));
        assert!(pool.is_in_use(3));
    }

    #[test]
    #[should_panic(expected = "freed while not in use")]
    fn double_free_panics() {
        let mut pool = BlockAllocator::new(2);
        let a = pool.allocate(1).expect("free");
        pool.free(&a);
        pool.free(&a);
    }

    #[test]
    fn table_grows_by_whole_blocks() {
        let mut pool = BlockAllocator::new(4);
        let mut table = BlockTable::new();
        assert!(table.grow_to(1, 4, &mut pool));
        assert_eq!(table.blocks().len(), 1);
        assert!(table.grow_to(4, 4, &mut pool));
        assert_eq!(table.blocks().len(), 1);
        assert!(table.grow_to(5, 4, &mut pool));
        assert_eq!(table.capacity(4), 8);
        assert!(
            !table.grow_to(17, 4, &mut pool),
            "needs 5 blocks, pool has 4"
        );
        assert_eq!(
            table.blocks().len(),
            2,
            "a failed grow leaves the table as it was"
        );
        table.release(&mut pool);
        assert_eq!(pool.num_free(), 4);
        assert!(table.blocks().is_empty());
    }
}
