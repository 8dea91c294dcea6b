namespace Presence.Testing;

/// <summary>The running test's cancellation token, as <c>Ct</c> in every test file (a static import of the test projects).</summary>
public static class TestCancellation
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;
}
