// A platform written in Kotlin, as the Android shell's is, that the tests steer: it
// reports whatever network the test sets, or throws to prove that a failing
// callback reaches the app as an error and not as a crash.
package org.ispeed.test

import org.ispeed.core.Battery
import org.ispeed.core.DeviceInfo
import org.ispeed.core.NetworkContext
import org.ispeed.core.Platform
import org.ispeed.core.RadioTechnology
import org.ispeed.core.Signal
import org.ispeed.core.Transport
import java.util.concurrent.atomic.AtomicInteger

/** Operator name the platform reports; found again in the result document. */
const val TEST_OPERATOR = "Test Mobile"

/**
 * A fixed-offset IANA zone (`Etc/GMT-N` is UTC+N) whose local time is now around
 * noon: inside the auto-measure active hours and far from midnight, whenever the
 * suite runs, so that decisions and daily counts do not depend on the hour of CI.
 */
fun middayZone(now: java.time.Instant = java.time.Instant.now()): String {
    val offset = 12 - now.atZone(java.time.ZoneOffset.UTC).hour // -11..12
    return when {
        offset > 0 -> "Etc/GMT-$offset"
        offset < 0 -> "Etc/GMT+${-offset}"
        else -> "Etc/GMT"
    }
}

/** A steerable platform. */
class TestPlatform(@Volatile var transport: Transport = Transport.CELLULAR) : Platform {
    /** The time zone reported; days and active hours are counted in it. */
    @Volatile var zone: String = middayZone()

    /** When set, [network] throws it. */
    @Volatile var failure: RuntimeException? = null

    /** Calls of [network], to see that the engine asked. */
    val networkCalls = AtomicInteger()

    override fun network(): NetworkContext {
        networkCalls.incrementAndGet()
        failure?.let { throw it }
        return NetworkContext(
            transport = transport,
            wifiConnected = transport == Transport.WIFI,
            technology = if (transport == Transport.CELLULAR) RadioTechnology.G4 else RadioTechnology.UNKNOWN,
            operator = TEST_OPERATOR,
            mccMnc = "452-04",
            signal = Signal(rsrpDbm = -95.0, rsrqDb = -11.0, sinrDb = 12.5),
        )
    }

    override fun battery(): Battery? = Battery(percent = 80u, charging = false)

    override fun device(): DeviceInfo = DeviceInfo(
        platform = "jvm-test", osVersion = System.getProperty("java.version"),
        model = "JVM", appVersion = "0.0.0-test",
    )

    override fun timeZone(): String = zone
}
