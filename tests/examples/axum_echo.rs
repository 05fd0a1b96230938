//! The axum echo app of `framewire_tests::axum_echo` on 127.0.0.1:9091:
//! `framewire client ws://127.0.0.1:9091/ws`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:9091").await?;
    println!("listening on ws://{}/ws", listener.local_addr()?);
    axum::serve(listener, framewire_tests::axum_echo::app()).await
}
