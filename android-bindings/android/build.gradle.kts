// The i-Speed Android library: the Rust engine (built with cargo-ndk), its generated
// Kotlin bindings, the platform-neutral shell (../shared, tested on the JVM) and the
// Android shell (platform probe, cellular binding, WorkManager worker, Compose screen).
//
// Needs: the Android SDK and NDK, `cargo install cargo-ndk`, and the Rust targets
// `rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`.
import org.gradle.api.tasks.Exec

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val repoRoot = rootDir.parentFile
val jniOut = layout.buildDirectory.dir("rustJniLibs")
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi")

android {
    namespace = "org.ispeed.android"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
    }
    buildFeatures {
        compose = true
    }
    sourceSets["main"].apply {
        kotlin.srcDirs("src/main/kotlin", "../shared/src", generatedKotlin)
        jniLibs.srcDirs(jniOut)
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions {
        jvmTarget = "17"
    }
}

// The engine for every ABI the app ships. The `mobile` profile: release (LTO, one
// codegen unit) optimised for size; symbols are kept (strip = "debuginfo") and the
// Android Gradle plugin strips the copies it packages.
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", jniOut.get().asFile.path,
        "build", "--profile", "mobile", "-p", "ispeed-android",
    )
}

// Kotlin from a host build of the same crate (the interface does not depend on the
// ABI), with the Android flavour of the generator's settings.
val uniffiKotlin by tasks.registering(Exec::class) {
    workingDir = repoRoot
    commandLine("cargo", "xtask", "bindings")
    doLast {
        exec {
            workingDir = repoRoot
            commandLine(
                "cargo", "run", "-p", "uniffi-bindgen", "--",
                "generate", "target/debug/libispeed_android.so",
                "--language", "kotlin", "--no-format",
                "--config", "android-bindings/uniffi-android.toml",
                "--out-dir", generatedKotlin.get().asFile.path,
            )
        }
    }
}

tasks.named("preBuild") {
    dependsOn(cargoNdk, uniffiKotlin)
}

dependencies {
    // uniffi's Kotlin calls the engine through JNA; the AAR carries JNA's own .so files.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.7")
    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.ui:ui")
}
