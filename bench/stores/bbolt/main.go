// A small bbolt (go.etcd.io/bbolt) workload for crash sweeps (bench/stores/sweep-bbolt.sh):
//
//	bboltkv put DIR N   one update transaction per key k0..k(N-1), "acked k<i>" printed after each commit returns
//	bboltkv check DIR   opens DIR/kv.db (bbolt recovers from its meta pages) and prints every key, one per line
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: bboltkv put DIR N | check DIR")
		os.Exit(2)
	}
	path := filepath.Join(os.Args[2], "kv.db")
	switch os.Args[1] {
	case "put":
		n, err := strconv.Atoi(os.Args[3])
		must(err)
		db, err := bolt.Open(path, 0o600, nil)
		must(err)
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("k%d", i)
			must(db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte("kv"))
				if err != nil {
					return err
				}
				return b.Put([]byte(key), []byte(fmt.Sprintf("value-%d", i)))
			}))
			fmt.Println("acked", key)
		}
		must(db.Close())
	case "check":
		db, err := bolt.Open(path, 0o600, nil) // as the store itself would reopen it (an empty file is initialized)
		must(err)
		must(db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("kv"))
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				fmt.Println(string(k))
				return nil
			})
		}))
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bboltkv:", err)
		os.Exit(1)
	}
}
