// What Android knows about the network, the radio and the battery, reported to the
// engine through the `Platform` callback interface.
//
// The engine polls `network()` during a measurement from its own threads, so every
// answer comes from state cached by system callbacks: no binder call that could block
// on a slow system service sits on the measurement's path except the cheap
// TelephonyManager getters.
package org.ispeed.android

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.BatteryManager
import android.os.Build
import android.telephony.CellSignalStrengthLte
import android.telephony.CellSignalStrengthNr
import android.telephony.TelephonyManager
import androidx.core.content.ContextCompat
import java.time.ZoneId
import org.ispeed.core.Battery
import org.ispeed.core.DeviceInfo
import org.ispeed.core.NetworkContext
import org.ispeed.core.Platform
import org.ispeed.core.RadioTechnology
import org.ispeed.core.Signal
import org.ispeed.core.Transport

/** The Android implementation of the engine's platform. */
class AndroidPlatform(context: Context, private val appVersion: String) : Platform {
    private val app = context.applicationContext
    private val connectivity = app.getSystemService(ConnectivityManager::class.java)
    private val telephony = app.getSystemService(TelephonyManager::class.java)
    private val battery = app.getSystemService(BatteryManager::class.java)

    @Volatile private var defaultCaps: NetworkCapabilities? = null
    @Volatile private var wifiUp = false

    init {
        // The default network: what an unbound socket would use.
        connectivity.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
                defaultCaps = caps
            }

            override fun onLost(network: Network) {
                defaultCaps = null
            }
        })
        // Whether any Wi-Fi is connected, default or not: the cellular-only policy
        // refuses to measure while it is, since Android may move traffic onto it.
        val wifiRequest = android.net.NetworkRequest.Builder()
            .addTransportType(NetworkCapabilities.TRANSPORT_WIFI)
            .build()
        connectivity.registerNetworkCallback(wifiRequest, object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) {
                wifiUp = true
            }

            override fun onLost(network: Network) {
                wifiUp = false
            }
        })
    }

    override fun network(): NetworkContext {
        // While a measurement is bound to the cellular network (see CellularBinding),
        // that network carries the traffic whatever the default is.
        val caps = CellularBinding.boundCapabilities ?: defaultCaps
        val transport = when {
            caps == null -> Transport.UNKNOWN
            caps.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR) -> Transport.CELLULAR
            caps.hasTransport(NetworkCapabilities.TRANSPORT_WIFI) -> Transport.WIFI
            caps.hasTransport(NetworkCapabilities.TRANSPORT_ETHERNET) -> Transport.ETHERNET
            else -> Transport.UNKNOWN
        }
        val cellular = transport == Transport.CELLULAR
        return NetworkContext(
            transport = transport,
            wifiConnected = wifiUp,
            technology = if (cellular) technology() else RadioTechnology.UNKNOWN,
            operator = telephony.networkOperatorName.takeIf { cellular && it.isNotBlank() },
            mccMnc = telephony.networkOperator.takeIf { cellular && it.length >= 5 }
                ?.let { "${it.substring(0, 3)}-${it.substring(3)}" },
            signal = if (cellular) signal() else Signal(),
            metered = caps?.let { !it.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) },
            roaming = caps?.let { !it.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_ROAMING) },
        )
    }

    /** Radio technology of the data connection; unknown without READ_PHONE_STATE. */
    private fun technology(): RadioTechnology {
        val granted = ContextCompat.checkSelfPermission(app, Manifest.permission.READ_PHONE_STATE) ==
            PackageManager.PERMISSION_GRANTED
        if (!granted) return RadioTechnology.UNKNOWN
        return when (telephony.dataNetworkType) {
            TelephonyManager.NETWORK_TYPE_GPRS, TelephonyManager.NETWORK_TYPE_EDGE,
            TelephonyManager.NETWORK_TYPE_GSM -> RadioTechnology.G2
            TelephonyManager.NETWORK_TYPE_UMTS, TelephonyManager.NETWORK_TYPE_HSDPA,
            TelephonyManager.NETWORK_TYPE_HSUPA, TelephonyManager.NETWORK_TYPE_HSPA,
            TelephonyManager.NETWORK_TYPE_HSPAP -> RadioTechnology.G3
            // NR anchored on LTE reports LTE here; TelephonyDisplayInfo would tell NSA
            // apart, at the cost of a listener: a later refinement.
            TelephonyManager.NETWORK_TYPE_LTE -> RadioTechnology.G4
            TelephonyManager.NETWORK_TYPE_NR -> RadioTechnology.G5_SA
            else -> RadioTechnology.UNKNOWN
        }
    }

    /** Serving-cell signal, from the API that needs no location permission. */
    private fun signal(): Signal {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.Q) return Signal()
        val strengths = telephony.signalStrength?.cellSignalStrengths ?: return Signal()
        fun valid(v: Int) = v.takeIf { it != android.telephony.CellInfo.UNAVAILABLE }?.toDouble()
        strengths.filterIsInstance<CellSignalStrengthNr>().firstOrNull()?.let {
            return Signal(rsrpDbm = valid(it.ssRsrp), rsrqDb = valid(it.ssRsrq), sinrDb = valid(it.ssSinr))
        }
        strengths.filterIsInstance<CellSignalStrengthLte>().firstOrNull()?.let {
            return Signal(rsrpDbm = valid(it.rsrp), rsrqDb = valid(it.rsrq), sinrDb = valid(it.rssnr))
        }
        return Signal()
    }

    override fun battery(): Battery? {
        val percent = battery.getIntProperty(BatteryManager.BATTERY_PROPERTY_CAPACITY)
        if (percent !in 0..100) return null
        return Battery(percent = percent.toUByte(), charging = battery.isCharging)
    }

    override fun device(): DeviceInfo = DeviceInfo(
        platform = "android",
        osVersion = Build.VERSION.RELEASE,
        // The marketed model, never a serial number or any other identifier.
        model = Build.MODEL,
        appVersion = appVersion,
    )

    override fun timeZone(): String = ZoneId.systemDefault().id
}
