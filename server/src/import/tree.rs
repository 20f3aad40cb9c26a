//! The shape every imported conversation must have: a forest whose parents all exist, with no
//! cycle, read parents first.

use std::collections::HashMap;

/// The order to read the nodes in so that each comes after its parent (roots first, then
/// breadth first, siblings in the order given). Refuses a duplicate key, a parent that is not
/// among the nodes, and a cycle: `(index of the node, what is wrong)`.
pub fn parents_first(nodes: &[(&str, Option<&str>)]) -> Result<Vec<usize>, (usize, &'static str)> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
    for (i, (key, _)) in nodes.iter().enumerate() {
        if index.insert(key, i).is_some() {
            return Err((i, "has the same id as another message"));
        }
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut order = Vec::with_capacity(nodes.len());
    for (i, (_, parent)) in nodes.iter().enumerate() {
        match parent {
            None => order.push(i),
            Some(parent) => match index.get(parent) {
                Some(&p) => children[p].push(i),
                None => return Err((i, "names a parent that is not in the conversation")),
            },
        }
    }
    let mut next = 0;
    while next < order.len() {
        let node = order[next];
        order.extend_from_slice(&children[node]);
        next += 1;
    }
    if order.len() < nodes.len() {
        let mut seen = vec![false; nodes.len()];
        for &i in &order {
            seen[i] = true;
        }
        let stuck = seen.iter().position(|s| !s).unwrap_or(0);
        return Err((stuck, "is its own ancestor (a cycle)"));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_broken_trees_are_named() {
        let nodes = [
            ("c", Some("b")),
            ("a", None),
            ("b", Some("a")),
            ("d", Some("a")),
        ];
        assert_eq!(parents_first(&nodes), Ok(vec![1, 2, 3, 0]));
        assert_eq!(
            parents_first(&[("a", None), ("b", Some("x"))]),
            Err((1, "names a parent that is not in the conversation"))
        );
        assert_eq!(
            parents_first(&[("a", None), ("b", Some("c")), ("c", Some("b"))]),
            Err((1, "is its own ancestor (a cycle)"))
        );
        assert_eq!(
            parents_first(&[("a", None), ("a", None)]),
            Err((1, "has the same id as another message"))
        );
        assert_eq!(parents_first(&[]), Ok(vec![]));
    }
}
