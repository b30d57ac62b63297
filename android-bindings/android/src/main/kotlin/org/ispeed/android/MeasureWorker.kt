// Auto-measure: WorkManager wakes this worker; the engine decides whether to measure
// now (spacing, active hours, data budgets, battery, cellular only, backoff) and when
// to ask again. The worker only obeys: it runs the shared AutoMeasure wake-up with
// the sockets bound to the cellular network, then books the next wake-up at the time
// the engine answered (WakeOutcome.nextWakeAt).
//
// Booking the next run from inside doWork: one-time work, enqueued as the same unique
// work with APPEND_OR_REPLACE. While this worker runs, its work is still "pending
// (uncompleted)", so the next request is appended behind it and becomes runnable once
// this one succeeds; its initial delay counts from then. REPLACE (what this file used
// to do) cancels and deletes the pending work, this running worker included: the
// coroutine was cancelled mid-wake, and the booking raced its own cancellation.
// APPEND alone would chain the next run to this one's fate: a failed or cancelled run
// would fail every run appended after it for good; APPEND_OR_REPLACE starts a fresh
// chain instead. Periodic work does not fit: the engine draws each spacing (randomised
// so that phones do not measure in lockstep, longer after failures), and a period, even
// with a flex window, would ignore its answer.
//
// When the engine cannot open (storage full, a database from a newer app) or a wake-up
// fails outside the engine, there is no answer to book from: the worker returns
// Result.retry(), WorkManager runs it again after an exponential backoff (15 minutes,
// doubling, at most 5 hours), and a notification says that automatic measurement is
// held up, why, and that it retries by itself. The next wake-up that completes
// removes it.
package org.ispeed.android

import android.Manifest
import android.annotation.SuppressLint
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.content.pm.PackageManager
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.content.ContextCompat
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequest
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.time.Duration
import java.time.Instant
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CancellationException
import org.ispeed.core.IspeedException
import org.ispeed.shell.AutoMeasure
import org.ispeed.shell.ErrorMessage

/** Runs one auto-measure wake-up and books the next at the engine's time. */
class MeasureWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    override suspend fun doWork(): Result {
        val outcome = try {
            // Opening the engine throws IspeedException, a checked Exception in
            // Kotlin's view: `catch (e: RuntimeException)` would let it through and
            // fail the work, ending auto-measure without a word.
            val engine = IspeedEngine.get(applicationContext)
            AutoMeasure(engine).wake { run ->
                CellularBinding.withCellular(applicationContext) { run() }
            }
        } catch (e: CancellationException) {
            throw e // WorkManager stopped us (constraints, quota); it runs the work again itself
        } catch (e: IspeedException) {
            return heldUp(ErrorMessage.of(e))
        } catch (e: Exception) {
            // A failure outside the engine (a permission revoked, a system service gone).
            return heldUp(ErrorMessage("internal", e.toString()))
        }
        HeldUpNotice.clear(applicationContext)
        // Null when auto-measure is off: nothing booked, the chain ends here.
        outcome.nextWakeAt?.let { book(applicationContext, it, ExistingWorkPolicy.APPEND_OR_REPLACE) }
        return Result.success()
    }

    /** Says why auto-measure is held up, and asks WorkManager to run this work again. */
    private fun heldUp(error: ErrorMessage): Result {
        HeldUpNotice.show(applicationContext, error)
        return Result.retry()
    }

    companion object {
        private const val NAME = "ispeed-auto-measure"

        /** First wait after a wake-up that could not complete; doubles up to WorkManager's 5 h cap. */
        private val RETRY_BACKOFF: Duration = Duration.ofMinutes(15)

        /** WorkManager's own floor; the engine never asks for less than a minute. */
        private val MIN_DELAY: Duration = Duration.ofMinutes(1)

        /**
         * Follows the auto-measure switch: on, wakes the worker now unless a wake-up
         * is already booked or running (KEEP: switching on twice neither cancels a
         * running measurement nor resets the engine's spacing); off, cancels it.
         */
        fun setEnabled(context: Context, enabled: Boolean) {
            if (enabled) {
                book(context, Instant.now(), ExistingWorkPolicy.KEEP)
            } else {
                WorkManager.getInstance(context).cancelUniqueWork(NAME)
            }
        }

        /** Enqueues the wake-up at [at] as the unique work, under [policy]. */
        private fun book(context: Context, at: Instant, policy: ExistingWorkPolicy) {
            WorkManager.getInstance(context).enqueueUniqueWork(NAME, policy, request(at))
        }

        private fun request(at: Instant): OneTimeWorkRequest {
            val delay = Duration.between(Instant.now(), at).coerceAtLeast(MIN_DELAY)
            return OneTimeWorkRequestBuilder<MeasureWorker>()
                .setInitialDelay(delay.toMillis(), TimeUnit.MILLISECONDS)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, RETRY_BACKOFF.toMillis(), TimeUnit.MILLISECONDS)
                // The engine checks cellular, battery and budgets itself; this only
                // spares a wake-up when there is no network at all.
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .build()
        }
    }
}

/**
 * The one notification of auto-measure: shown while it is held up (the engine cannot
 * open, or a wake-up failed outside it), with the reason in the user's language and
 * the promise that it retries by itself. Without the notification permission
 * (Android 13+, asked when the user turns auto-measure on) nothing is shown; the
 * retries go on.
 */
internal object HeldUpNotice {
    private const val CHANNEL = "ispeed-auto-measure"
    private const val ID = 1

    @SuppressLint("MissingPermission") // checked by allowed() first
    fun show(context: Context, error: ErrorMessage) {
        if (!allowed(context)) return
        val manager = context.getSystemService(NotificationManager::class.java)
        manager.createNotificationChannel(
            NotificationChannel(
                CHANNEL,
                context.getString(R.string.auto_measure_channel),
                NotificationManager.IMPORTANCE_LOW,
            ),
        )
        val text = context.getString(R.string.auto_measure_held_up, ErrorTexts.of(context, error))
        val notification = NotificationCompat.Builder(context, CHANNEL)
            .setSmallIcon(android.R.drawable.stat_notify_error)
            .setContentTitle(context.getString(R.string.auto_measure_held_up_title))
            .setContentText(text)
            .setStyle(NotificationCompat.BigTextStyle().bigText(text))
            .setOnlyAlertOnce(true)
            .build()
        NotificationManagerCompat.from(context).notify(ID, notification)
    }

    fun clear(context: Context) {
        NotificationManagerCompat.from(context).cancel(ID)
    }

    private fun allowed(context: Context): Boolean =
        android.os.Build.VERSION.SDK_INT < android.os.Build.VERSION_CODES.TIRAMISU ||
            ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) ==
            PackageManager.PERMISSION_GRANTED
}
