//! Model invariants, checked by tests after every step (tests run in release,
//! where `debug_assert!` is off, so this is an explicit function).

use super::world::{Site, World};

impl World<'_> {
    /// Check every invariant of the state; the error names the first broken one.
    pub fn check_invariants(&self) -> Result<(), String> {
        let c = &self.counters;
        let expected = c.initial_firms + c.entries_total - c.exits_total - c.forced_total;
        let alive_flags = self.firms.iter().filter(|f| f.alive).count() as u64;
        if self.alive() != expected || alive_flags != expected {
            return Err(format!(
                "firms alive {} (flags {alive_flags}) != initial {} + entries {} - exits {} - forced closures {}",
                self.alive(),
                c.initial_firms,
                c.entries_total,
                c.exits_total,
                c.forced_total
            ));
        }
        let max_deg = self.sc.cooperation.max_degree as usize;
        for (ci, cl) in self.clusters.iter().enumerate() {
            let land: f64 = cl
                .members
                .iter()
                .map(|&i| self.firms[i as usize].land)
                .sum();
            if (land - cl.occupied).abs() > 1e-6 {
                return Err(format!(
                    "cluster {ci}: occupied {} != members' land {land}",
                    cl.occupied
                ));
            }
            // Links with both ends here, each once (from its lower index).
            let internal = cl
                .members
                .iter()
                .zip(&cl.partners)
                .map(|(&i, partners)| {
                    let here = |j: u32| self.firms[j as usize].site == Site::Cluster(ci as u32);
                    partners.iter().filter(|&&j| j > i && here(j)).count() as u64
                })
                .sum::<u64>();
            if internal != cl.internal_links {
                return Err(format!(
                    "cluster {ci}: {} internal links kept, {internal} counted",
                    cl.internal_links
                ));
            }
            // A member's A is stored: spillover and training change it in
            // place (only a residential firm's may wait to be computed).
            if let Some(&i) = cl
                .members
                .iter()
                .find(|&&i| self.firms[i as usize].productivity.is_nan())
            {
                return Err(format!(
                    "cluster {ci}: member {i} has no stored productivity"
                ));
            }
            if cl.occupied > cl.area + 1e-9 {
                return Err(format!(
                    "cluster {ci}: occupied {} > area {}",
                    cl.occupied, cl.area
                ));
            }
            if !cl.operating() && !cl.members.is_empty() {
                return Err(format!(
                    "planned cluster {ci} has {} firms",
                    cl.members.len()
                ));
            }
            for (k, &q) in cl.q.iter().enumerate() {
                if !(0.0..=1.0).contains(&q) {
                    return Err(format!("cluster {ci}: q[{k}] = {q} outside [0,1]"));
                }
            }
            if !(0.0..=1.0).contains(&cl.z) {
                return Err(format!("cluster {ci}: z = {} outside [0,1]", cl.z));
            }
            let q = super::infrastructure::quality(cl, &self.sc.infrastructure);
            if !(0.0..=1.0).contains(&q) {
                return Err(format!("cluster {ci}: Q = {q} outside [0,1]"));
            }
            if (q - cl.quality).abs() > 1e-12 {
                return Err(format!("cluster {ci}: cached Q {} != Q {q}", cl.quality));
            }
            let counted: u32 = cl.sector_counts.iter().sum();
            if counted as usize != cl.members.len() {
                return Err(format!(
                    "cluster {ci}: sector counts {counted} != members {}",
                    cl.members.len()
                ));
            }
        }
        let sites = self
            .clusters
            .iter()
            .enumerate()
            .map(|(i, c)| (Site::Cluster(i as u32), &c.members, &c.partners, &c.held))
            .chain(
                self.areas
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (Site::Home(i as u32), &a.members, &a.partners, &a.held)),
            );
        for (site, members, partners, held) in sites {
            if partners.len() != members.len() || held.len() != members.len() {
                return Err(format!(
                    "{site:?}: {} partner lists and {} held entries for {} members",
                    partners.len(),
                    held.len(),
                    members.len()
                ));
            }
            for (slot, &i) in members.iter().enumerate() {
                let f = &self.firms[i as usize];
                if !f.alive || f.site != site || f.slot as usize != slot {
                    return Err(format!(
                        "firm {i}: membership of {site:?} slot {slot} inconsistent"
                    ));
                }
                // The site's copy, bit for bit.
                let h = held[slot];
                if h.size.to_bits() != f.size.to_bits() || h.polluting != f.polluting {
                    return Err(format!(
                        "firm {i}: {site:?} holds size {} polluting {}, the firm {} {}",
                        h.size, h.polluting, f.size, f.polluting
                    ));
                }
            }
        }
        // Each area's count of polluting members.
        for (a, area) in self.areas.iter().enumerate() {
            let n = area
                .members
                .iter()
                .filter(|&&i| self.firms[i as usize].polluting)
                .count();
            if n != area.polluting as usize {
                return Err(format!(
                    "area {a}: polluting count {} != {n} polluting members",
                    area.polluting
                ));
            }
            // Links join cluster firms only (MODEL.md §4.4): a resident
            // has none, so a partner's productivity is always stored.
            if let Some(k) = area.partners.iter().position(|p| !p.is_empty()) {
                return Err(format!("area {a}: member {k} has partners"));
            }
        }
        // Kin lists: exactly the alive cluster firms of each home, slots right.
        let mut in_clusters = 0usize;
        for (a, area) in self.areas.iter().enumerate() {
            for (slot, &i) in area.kin.iter().enumerate() {
                let f = &self.firms[i as usize];
                if !f.alive
                    || f.home as usize != a
                    || !matches!(f.site, Site::Cluster(_))
                    || f.kin_slot as usize != slot
                {
                    return Err(format!(
                        "firm {i}: kin list of area {a} slot {slot} inconsistent"
                    ));
                }
            }
            in_clusters += area.kin.len();
        }
        let members: usize = self.clusters.iter().map(|c| c.members.len()).sum();
        if in_clusters != members {
            return Err(format!(
                "kin lists hold {in_clusters} firms, clusters {members}"
            ));
        }
        if !self.orphans_empty() {
            return Err("links of killed firms not dropped".into());
        }
        for (i, f) in self.firms.iter().enumerate() {
            if !f.alive {
                continue;
            }
            let partners = self.partners_of(i as u32);
            if partners.len() > max_deg {
                return Err(format!(
                    "firm {i}: degree {} > max_degree {max_deg}",
                    partners.len()
                ));
            }
            for (n, &j) in partners.iter().enumerate() {
                if j as usize == i || partners[..n].contains(&j) {
                    return Err(format!("firm {i}: self or duplicate link to {j}"));
                }
                let g = &self.firms[j as usize];
                if !g.alive || !self.partners_of(j).contains(&(i as u32)) {
                    return Err(format!("link {i}-{j} not symmetric or partner dead"));
                }
            }
        }
        Ok(())
    }
}
