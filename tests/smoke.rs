use goroutines::{go, run, yield_now};
#[test]
fn smoke() {
    let h = go(|| 6 * 7);
    assert_eq!(h.join().unwrap(), 42);
    let v = run(|| {
        let hs: Vec<_> = (0..10000)
            .map(|i| {
                go(move || {
                    yield_now();
                    i
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(v, (0..10000).sum());
}
