/**
 * File-system persistence models: what a power cut may leave of the operations a program made since its last
 * syncs. One table, used by the power cut (the engines' recording: SF_SHADOW_SYNC_PARENT) and by the sweep's
 * crash states (src/sweep/crash-states.ts) and explanations (src/sweep/explain.ts).
 *
 * Sources:
 *  [ALICE] T. S. Pillai et al., "All File Systems Are Not Created Equal: On the Complexity of Crafting
 *          Crash-Consistent Applications", OSDI 2014, §3 and Table 1 (persistence properties measured per file
 *          system with BOB: atomicity of appends and multi-block writes, ordering of appends, overwrites and
 *          directory operations, "safe new file", "safe rename").
 *  [EXT4]  Linux Documentation/admin-guide/ext4.rst: data=ordered ("all data is forced directly out to the main
 *          file system prior to its metadata being committed to the journal"), auto_da_alloc (replace-via-rename
 *          and replace-via-truncate flush the new file's data before the rename or truncate commits), the journal
 *          commit (commit=5 s by default).
 *  [POSIX] fsync(2), POSIX.1-2017: an fsync of a file does not make its directory entry durable; that takes an
 *          fsync of the directory (Linux man page fsync(2), NOTES).
 *  [XFS]   Linux Documentation/filesystems/xfs/ (delayed logging: metadata changes are logged in order, fsync
 *          forces the log up to the inode's last change, which includes its creation); no rename flush
 *          (ALICE Table 1: xfs lacks "safe rename").
 *  [BTRFS] btrfs(5) and ALICE Table 1: fsync of a file logs its new names in the tree log; a transaction commits
 *          every 30 s atomically; rename over a file flushes the new file's data (flushoncommit off).
 */

/** The models known (`--fs`). */
export const FS_MODEL_NAMES = ['posix', 'ext4', 'xfs', 'btrfs'] as const;
export type FsModelName = (typeof FS_MODEL_NAMES)[number];

/** One model: a row of the table. */
export interface FsModel {
  readonly name: FsModelName;
  readonly summary: string;
  /** fsync of a file also makes the entries of its directory durable (a journal commit covers them). */
  readonly fsyncPersistsDirectory: boolean;
  /**
   * Unsynced namespace operations (creations, renames, unlinks): 'any' subset may have persisted, or they
   * persist in 'order' (one journal: a prefix of them; explored as none or all, the order of operations across
   * directories not being recorded).
   */
  readonly namespaceOrder: 'any' | 'order';
  /** Appended data reaches the disk as a prefix of blocks; the size never covers blocks not written (no holes). */
  readonly appendsAsPrefix: boolean;
  /** A rename replacing a file persists the renamed file's data with it (ext4 auto_da_alloc, btrfs). */
  readonly renameFlushesData: boolean;
  readonly sources: readonly string[];
}

/** The table. */
export const FS_MODELS: Readonly<Record<FsModelName, FsModel>> = {
  posix: {
    name: 'posix',
    summary: 'strict POSIX: nothing unsynced is promised; a new name needs an fsync of its directory',
    fsyncPersistsDirectory: false,
    namespaceOrder: 'any',
    appendsAsPrefix: false,
    renameFlushesData: false,
    sources: ['[POSIX] fsync(2)', '[ALICE] Table 1 (the weakest column: no atomicity or ordering assumed)'],
  },
  ext4: {
    name: 'ext4',
    summary: 'ext4 data=ordered (the default): fsync of a file commits the journal, so its name and every earlier namespace operation of its directory persist with it',
    fsyncPersistsDirectory: true,
    namespaceOrder: 'order',
    appendsAsPrefix: true,
    renameFlushesData: true,
    sources: ['[EXT4] data=ordered, auto_da_alloc, journal commit', '[ALICE] Table 1, ext4-ordered'],
  },
  xfs: {
    name: 'xfs',
    summary: 'xfs: fsync of a file forces the log, its name included; appends never expose unwritten blocks; no rename flush',
    fsyncPersistsDirectory: true,
    namespaceOrder: 'order',
    appendsAsPrefix: true,
    renameFlushesData: false,
    sources: ['[XFS] delayed logging, fsync forces the log', '[ALICE] Table 1, xfs'],
  },
  btrfs: {
    name: 'btrfs',
    summary: 'btrfs: fsync of a file logs its names (tree log); transactions commit atomically; rename over a file flushes its data',
    fsyncPersistsDirectory: true,
    namespaceOrder: 'order',
    appendsAsPrefix: true,
    renameFlushesData: true,
    sources: ['[BTRFS] tree log, transaction commit', '[ALICE] Table 1, btrfs'],
  },
};

/** SF_SHADOW_SYNC_PARENT (native/core/shadow.h). */
export const SHADOW_SYNC_PARENT = 2;

/** The model of a name, or undefined. */
export function fsModel(name: string): FsModel | undefined {
  return (FS_MODEL_NAMES as readonly string[]).includes(name) ? FS_MODELS[name as FsModelName] : undefined;
}

/** The power cut's recording flags for a model. */
export function fsShadowFlags(model: FsModel): number {
  return model.fsyncPersistsDirectory ? SHADOW_SYNC_PARENT : 0;
}

/** The kinds of unsynced change a crash state persists or drops (src/sweep/crash-states.ts). */
export type ChangeKind = 'create' | 'unlink' | 'rename' | 'replace' | 'append' | 'overwrite' | 'truncate';

/**
 * Why a change can be lost under a model, in words, and which models keep it: the rule the explanation cites.
 * `file` and `dir` name the file and its directory.
 */
export function lossRule(kind: ChangeKind, model: FsModel, file: string, dir: string): string {
  const keepers = FS_MODEL_NAMES.filter((n) => FS_MODELS[n].fsyncPersistsDirectory).join(', ');
  switch (kind) {
    case 'create':
      return model.fsyncPersistsDirectory
        ? `${file} was created after the last journal commit (no fsync of it or of another file in ${dir} since): under ${model.name} its name can be lost`
        : `${file} was created but its directory ${dir} was never fsynced afterwards: under ${model.name} its name can be lost (${keepers} keep it once the file itself is fsynced: --fs ext4)`;
    case 'replace':
      return `${file} was removed and created again (a new file under that name) since its directory ${dir} was last fsynced: under ${model.name} the old file can come back in its place`;
    case 'rename':
      return model.fsyncPersistsDirectory
        ? `the rename to ${file} was not followed by an fsync in ${dir}: under ${model.name} it is lost until the next journal commit`
        : `the rename to ${file} was not followed by an fsync of its directory ${dir}: under ${model.name} it can be undone`;
    case 'unlink':
      return `${file} was removed since its directory ${dir} was last fsynced: under ${model.name} the name can come back`;
    case 'append':
      return `data appended to ${file} after its last fsync is not durable (any block of it, or none, may persist)`;
    case 'overwrite':
      return `data overwritten in ${file} after its last fsync is not durable (each block persists, or not, on its own)`;
    case 'truncate':
      return `the size change of ${file} after its last fsync is not durable`;
  }
}

/** Why a state that persists part of the changes is possible, in words (torn, reordered). */
export function persistRule(kind: 'torn' | 'reorder' | 'namespace', model: FsModel): string {
  switch (kind) {
    case 'torn':
      return `writes are not atomic beyond a block: a crash can persist the first blocks of a write and not the rest ([ALICE] Table 1, multi-block append/overwrite: not atomic on any of ${FS_MODEL_NAMES.join(', ')})`;
    case 'reorder':
      return model.appendsAsPrefix
        ? `write-back does not keep the order of overwrites: a later block can reach the disk before an earlier one (${model.name}: appends stay in order, overwrites do not)`
        : `write-back order is not promised: a later block (or a later append) can reach the disk before an earlier one, the gap reading as zeros`;
    case 'namespace':
      return model.namespaceOrder === 'order'
        ? `${model.name} commits namespace operations in order: those made since the last commit are all lost or all kept`
        : `under ${model.name} unsynced creations, renames and removals persist independently of each other`;
  }
}
