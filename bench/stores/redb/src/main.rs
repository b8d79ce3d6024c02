// A small redb (crates.io: redb) workload for crash sweeps (bench/stores/sweep-redb.sh):
//
//   redbkv put DIR N   one write transaction per key k0..k(N-1), "acked k<i>" printed after each commit returns
//   redbkv check DIR   opens DIR/kv.redb (redb repairs it if it was not closed cleanly) and prints every key, one
//                      per line; exits 1 if redb refuses the file
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use std::path::Path;
use std::process::exit;

const TABLE: TableDefinition<&str, &str> = TableDefinition::new("kv");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: redbkv put DIR N | check DIR");
        exit(2);
    }
    let path = Path::new(&args[2]).join("kv.redb");
    match (args[1].as_str(), args.get(3)) {
        ("put", Some(n)) => put(&path, must(n.parse::<usize>())),
        ("check", None) => check(&path),
        _ => {
            eprintln!("usage: redbkv put DIR N | check DIR");
            exit(2);
        }
    }
}

fn put(path: &Path, n: usize) {
    let db = must(Database::create(path));
    for i in 0..n {
        let key = format!("k{i}");
        let txn = must(db.begin_write()); // default durability: the commit returns once it is synced
        {
            let mut table = must(txn.open_table(TABLE));
            must(table.insert(key.as_str(), format!("value-{i}").as_str()));
        }
        must(txn.commit());
        println!("acked {key}");
    }
}

fn check(path: &Path) {
    // as the store itself would reopen it: an empty file is initialized, an unclean one repaired
    let db = must(Database::create(path));
    let txn = must(db.begin_read());
    let table = match txn.open_table(TABLE) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return,
        Err(err) => fail(err),
    };
    for entry in must(table.iter()) {
        let (key, _) = must(entry);
        println!("{}", key.value());
    }
}

fn must<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|err| fail(err))
}

fn fail<E: std::fmt::Display>(err: E) -> ! {
    eprintln!("redbkv: {err}");
    exit(1)
}
