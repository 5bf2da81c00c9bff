import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { AppHeader } from '@/components/layout/AppHeader';
import { LiveClientProvider } from '@/components/live/LiveClientProvider';
import { StoreProvider } from '@/stores/StoreProvider';
import './globals.css';

export const metadata: Metadata = {
  title: 'Loupe',
  description: 'Live reconstruction feedback for X-ray light-source experiments',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" className="dark">
      <body className="min-h-screen antialiased">
        <StoreProvider>
          <LiveClientProvider>
            <AppHeader />
            <main className="mx-auto max-w-[1600px] px-4 py-4">{children}</main>
          </LiveClientProvider>
        </StoreProvider>
      </body>
    </html>
  );
}
