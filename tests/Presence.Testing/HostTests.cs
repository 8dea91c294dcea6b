namespace Presence.Testing;

/// <summary>
/// A test class over one host of what it tests (a service's <see cref="PresenceAppFactory{TProgram}"/>, a harness or a
/// stack of services). xunit makes an instance of the class for each test, so each test has a host of its own, with
/// its own key prefix and fake clock: built on first use (settings go in before that) and disposed with the instance.
/// A test that needs a host built another way (other options, several replicas) builds that one itself.
/// </summary>
public abstract class HostTests<THost>(THost app) : IAsyncDisposable
    where THost : IAsyncDisposable
{
    protected THost App { get; } = app;

    public async ValueTask DisposeAsync()
    {
        await DisposeCoreAsync();
        await App.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>What the class undoes before its host goes (a stopped Redis started again, ...).</summary>
    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;
}
