//! Deterministic randomness.

/// SplitMix64: tiny, fast, and good enough to steer a fuzzer.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// lo..=hi.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let w = self.next().to_le_bytes();
            let k = (n - out.len()).min(8);
            out.extend_from_slice(&w[..k]);
        }
        out
    }
    /// A size: mostly small, sometimes medium, rarely large.
    pub fn size(&mut self) -> usize {
        match self.below(100) {
            0..=59 => self.below(20),
            60..=89 => self.range(20, 300),
            90..=98 => self.range(300, 5000),
            _ => self.range(5000, 70_000),
        }
    }
}

pub fn mix(seed: u64, index: u64) -> u64 {
    Rng(seed ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03)).next()
}
