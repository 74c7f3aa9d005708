//! The dependency graph of a set of plugins: the order to load them in,
//! and the cycles that make an order impossible. One rule for the runtime
//! (load order) and the package manager (install order).

use std::collections::HashMap;

/// Orders `plugins` (each a name and the names it depends on) so that every
/// plugin comes after the dependencies found among them; dependencies not
/// in the set are ignored. Plugins on a dependency cycle are left out of
/// the order, and each cycle is returned as the names along it, the first
/// repeated at the end (`a → b → a`). Ties keep the given order.
pub fn dependency_order<'a>(
    plugins: &[(&'a str, Vec<&'a str>)],
) -> (Vec<usize>, Vec<Vec<&'a str>>) {
    let index: HashMap<&str, usize> = plugins
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, i))
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
        Cyclic,
    }
    let mut mark = vec![Mark::New; plugins.len()];
    // Whether a plugin is on the current depth-first path (a `Cyclic` one
    // may still be, and a dependency on it closes another cycle).
    let mut on_path = vec![false; plugins.len()];
    let mut order = Vec::with_capacity(plugins.len());
    let mut cycles = Vec::new();
    // Depth-first, iteratively: (plugin, next dependency to look at).
    for root in 0..plugins.len() {
        if mark[root] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Open;
        on_path[root] = true;
        while let Some(&mut (at, ref mut next)) = stack.last_mut() {
            let deps = &plugins[at].1;
            if let Some(dep) = deps.get(*next) {
                *next += 1;
                let Some(&d) = index.get(dep) else { continue };
                match mark[d] {
                    Mark::New => {
                        mark[d] = Mark::Open;
                        on_path[d] = true;
                        stack.push((d, 0));
                    }
                    _ if on_path[d] => {
                        // A cycle: from `d`'s place on the stack up to here.
                        let from = stack.iter().position(|(p, _)| *p == d).unwrap_or(0);
                        let mut names: Vec<&str> =
                            stack[from..].iter().map(|(p, _)| plugins[*p].0).collect();
                        names.push(plugins[d].0);
                        for (p, _) in &stack[from..] {
                            mark[*p] = Mark::Cyclic;
                        }
                        cycles.push(names);
                    }
                    Mark::Open | Mark::Done | Mark::Cyclic => {}
                }
                continue;
            }
            stack.pop();
            on_path[at] = false;
            if mark[at] == Mark::Open {
                mark[at] = Mark::Done;
                order.push(at);
            }
        }
    }
    (order, cycles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first_and_cycles_are_named() {
        let plugins = vec![
            ("leaderboard", vec!["economy"]),
            ("economy", vec![]),
            ("achievements", vec!["economy", "missing"]),
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("self", vec!["self"]),
            ("x", vec!["y"]),
            ("y", vec!["x", "z"]),
            ("z", vec!["y"]),
        ];
        let (order, cycles) = dependency_order(&plugins);
        let names: Vec<&str> = order.iter().map(|i| plugins[*i].0).collect();
        assert_eq!(names, ["economy", "leaderboard", "achievements"]);
        // `z` closes a second cycle through `y`, already known to be on one.
        assert_eq!(
            cycles,
            vec![
                vec!["a", "b", "c", "a"],
                vec!["self", "self"],
                vec!["x", "y", "x"],
                vec!["y", "z", "y"],
            ]
        );
    }
}
