package dev.sparkautograd.jobs;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;

import java.io.IOException;

/**
 * Test only ({@code spark.ui.filters} of the secured test cluster): the request's user is the value of its
 * {@value #HEADER} header. A real cluster puts its own authentication filter there (Kerberos/SPNEGO, a
 * proxy's header after the proxy authenticated); Spark's ACLs then decide what that user may see.
 */
public final class HeaderUserFilter implements Filter {
    static final String HEADER = "X-Test-User";

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain) throws IOException, ServletException {
        HttpServletRequest http = (HttpServletRequest) req;
        String user = http.getHeader(HEADER);
        chain.doFilter(user == null ? req : new HttpServletRequestWrapper(http) {
            @Override
            public String getRemoteUser() {
                return user;
            }
        }, res);
    }
}
