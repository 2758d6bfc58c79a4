//! Phase 1, `establish` (global): planned clusters whose establish step has
//! come open if connected (z ≥ z_min, when `connect_before_establish`) and,
//! when the occupancy gate is set, only while the operating clusters'
//! occupancy is above it (MODEL.md §3).

use super::world::World;

impl World<'_> {
    /// Phase 1 at `step`. The occupancy gate is checked before each opening,
    /// so a gate that holds for the first opening may close for the next.
    pub fn establish(&mut self, step: u32) {
        let sc = self.sc;
        let p = &sc.infrastructure;
        let mut due: Vec<usize> = (0..self.clusters.len())
            .filter(|&i| self.clusters[i].establish_step.is_some_and(|s| s <= step))
            .collect();
        due.sort_by_key(|&i| (self.clusters[i].establish_step, i));
        for i in due {
            let c = &self.clusters[i];
            if p.connect_before_establish && c.z < p.z_min {
                continue;
            }
            if let Some(gate) = p.occupancy_gate {
                if self.operating_occupancy() <= gate {
                    break;
                }
            }
            let c = &mut self.clusters[i];
            c.establish_step = None;
            c.labor_pool = sc.clusters.labor_per_ha * c.area;
            self.insert_nearest(i as u32);
        }
        self.update_reach();
    }

    /// Occupied over total area of the operating clusters (0 if none).
    pub fn operating_occupancy(&self) -> f64 {
        let (occ, area) = self
            .clusters
            .iter()
            .filter(|c| c.operating())
            .fold((0.0, 0.0), |(o, a), c| (o + c.occupied, a + c.area));
        if area > 0.0 {
            occ / area
        } else {
            0.0
        }
    }
}
