// A resource that several callers hold at once, set up by the first and released by
// the last: the Android shell's cellular binding (CellularBinding), which the screen
// and the background worker may hold together. Free of Android so that the counting,
// the part that goes wrong (a second tap unbinding a running measurement, a cancelled
// caller leaking its hold), is tested on the JVM (`cargo xtask kotlin-test`).
package org.ispeed.shell

import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext

/**
 * Counts the holders of a resource: [acquire] runs when the first arrives, [release]
 * when the last leaves. Both run under one lock, so a caller arriving while the
 * resource is being acquired waits for it rather than acquiring it twice, and a
 * release never overlaps an acquire. An [acquire] that throws or is cancelled is
 * undone at once by [release] (which must cope with a half-done acquire) and does not
 * count: the next caller acquires afresh.
 */
class SharedHold<C>(
    private val acquire: suspend (C) -> Unit,
    private val release: suspend (C) -> Unit,
) {
    private val lock = Mutex()

    @Volatile private var users = 0

    /** How many callers hold the resource now. */
    val holders: Int get() = users

    /**
     * Runs [block] holding the resource ([context] is handed to [acquire] and
     * [release]). The hold ends when [block] returns, throws or is cancelled.
     */
    suspend fun <T> hold(context: C, block: suspend () -> T): T {
        var holding = false
        try {
            lock.withLock {
                if (users == 0) {
                    try {
                        acquire(context)
                    } catch (e: Throwable) {
                        withContext(NonCancellable) { release(context) }
                        throw e
                    }
                }
                users += 1
                holding = true
            }
            return block()
        } finally {
            // Released even when the caller is cancelled, or the count would leak and the
            // resource stay held for good.
            if (holding) {
                withContext(NonCancellable) {
                    lock.withLock {
                        users -= 1
                        if (users == 0) release(context)
                    }
                }
            }
        }
    }
}
