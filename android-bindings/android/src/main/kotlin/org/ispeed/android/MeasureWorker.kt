// Auto-measure: WorkManager wakes this worker; the engine decides whether to measure
// now (spacing, active hours, data budgets, battery, cellular only, backoff) and when
// to ask again. The worker only obeys: it runs the shared AutoMeasure wake-up with
// the sockets bound to the cellular network, then books the next wake-up.
package org.ispeed.android

import android.content.Context
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.time.Duration
import java.time.Instant
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CancellationException
import org.ispeed.shell.AutoMeasure

/** Runs one auto-measure wake-up and schedules the next at the engine's time. */
class MeasureWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result {
        val engine = IspeedEngine.get(applicationContext)
        val next = try {
            // Null when the switch is off: no next wake-up.
            AutoMeasure(engine).wake { run ->
                CellularBinding.withCellular(applicationContext) { run() }
            }.nextWakeAt
        } catch (e: CancellationException) {
            throw e // WorkManager stopped us; it runs the work again itself
        } catch (e: RuntimeException) {
            // A failure outside the engine (a permission revoked, a system service
            // gone): look again later rather than let auto-measure stop for good.
            if (engine.settings().autoMeasure) Instant.now().plus(RETRY_AFTER_FAILURE) else null
        }
        next?.let { schedule(applicationContext, it) }
        return Result.success()
    }

    companion object {
        private const val NAME = "ispeed-auto-measure"

        /** Next look after a failure outside the engine. */
        private val RETRY_AFTER_FAILURE: Duration = Duration.ofHours(1)

        /** WorkManager's own floor; the engine never asks for less than a minute. */
        private val MIN_DELAY: Duration = Duration.ofMinutes(1)

        /** Follows the auto-measure switch: wakes the worker now, or cancels it. */
        fun setEnabled(context: Context, enabled: Boolean) {
            if (enabled) schedule(context, Instant.now()) else WorkManager.getInstance(context).cancelUniqueWork(NAME)
        }

        /** Books the next wake-up at [at], replacing any booked one. */
        private fun schedule(context: Context, at: Instant) {
            val delay = Duration.between(Instant.now(), at).coerceAtLeast(MIN_DELAY)
            val request = OneTimeWorkRequestBuilder<MeasureWorker>()
                .setInitialDelay(delay.toMillis(), TimeUnit.MILLISECONDS)
                // The engine checks cellular, battery and budgets itself; this only
                // spares a wake-up when there is no network at all.
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NAME, ExistingWorkPolicy.REPLACE, request)
        }
    }
}
